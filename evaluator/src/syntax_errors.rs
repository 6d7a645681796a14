//! Syntax errors worded and placed as the reference's parser reports them: rnix finds them,
//! this module says them in the reference's grammar's terms (what it expected, each token's
//! name), and catches what rnix accepts and the reference rejects.

use crate::compile::CompileError;
use crate::source::{FileId, Span};

/// The error of a pipe operator (`|>`, `<|`): an experimental feature, not enabled.
pub(crate) const PIPES_DISABLED: &str =
    "experimental Nix feature 'pipe-operators' is disabled; add '--extra-experimental-features pipe-operators' to enable it";

/// What the reference's parser wants at the end of a text that leaves an indented string open.
const OPEN_INDENTED: &str = "indented string or '${' or end of an indented string";

/// The reference parser's names of the comparison operators, which do not chain.
const COMPARISONS: [&str; 6] = ["'=='", "'!='", "'<'", "'<='", "'>'", "'>='"];

/// Where a parse error starts, when it has a place.
pub(crate) fn error_offset(error: &rnix::ParseError) -> Option<u32> {
    use rnix::ParseError as P;
    match error {
        P::Unexpected(range)
        | P::UnexpectedExtra(range)
        | P::UnexpectedWanted(_, range, _)
        | P::UnexpectedDoubleBind(range)
        | P::DuplicatedArgs(range, _) => Some(range.start().into()),
        _ => None,
    }
}

/// The first token of `text` that the reference's lexer rejects, as it reports it: a path
/// with a trailing slash or an empty segment, or a block comment left open, which its lexer
/// reads as the operator `/` (an error where no operator may follow, else at the `*`).
/// Gives where the token starts, and the error.
pub(crate) fn lexical_error(file: FileId, text: &str) -> Option<(u32, CompileError)> {
    use rnix::SyntaxKind as K;
    let mut offset = 0u32;
    let mut previous = None;
    let mut open: Vec<K> = Vec::new();
    for (kind, token) in rnix::tokenize(text) {
        let start = offset;
        offset += token.len() as u32;
        match kind {
            K::TOKEN_WHITESPACE | K::TOKEN_COMMENT => continue,
            K::TOKEN_L_BRACK | K::TOKEN_L_PAREN | K::TOKEN_L_BRACE | K::TOKEN_INTERPOL_START => open.push(kind),
            K::TOKEN_R_BRACK | K::TOKEN_R_PAREN | K::TOKEN_R_BRACE | K::TOKEN_INTERPOL_END => {
                open.pop();
            }
            // The reference's lexer refuses the pipe operators unless they are enabled, which
            // nxe does not do.
            K::TOKEN_PIPE_LEFT | K::TOKEN_PIPE_RIGHT => {
                return Some((start, CompileError { span: Span { file, start }, message: PIPES_DISABLED.to_string() }));
            }
            K::TOKEN_ERROR => {
                let at = |at: u32, message: &str| {
                    Some((start, CompileError { span: Span { file, start: at }, message: message.to_string() }))
                };
                if token.starts_with("/*") {
                    let operand_before = previous.is_some_and(ends_expression);
                    return match operand_before && open.last() != Some(&K::TOKEN_L_BRACK) {
                        true => at(start + 1, "syntax error, unexpected '*'"),
                        false => at(start, "syntax error, unexpected '/'"),
                    };
                }
                let path_like = token.starts_with(['.', '/', '~'])
                    || token.split_once('/').is_some_and(|(head, _)| {
                        !head.is_empty() && head.chars().all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c))
                    });
                if path_like && !token.contains(char::is_whitespace) {
                    if let Some(slashes) = token.find("//") {
                        return at(start + slashes as u32 + 1, "syntax error, unexpected end of path, expecting '${'");
                    }
                    if token.len() > 1 && token.ends_with('/') {
                        return at(offset, "path has a trailing slash");
                    }
                }
                return None;
            }
            _ => {}
        }
        previous = Some(kind);
    }
    None
}

/// Whether a token is a blank or a comment, which the grammar does not see.
fn is_trivia(kind: rnix::SyntaxKind) -> bool {
    matches!(kind, rnix::SyntaxKind::TOKEN_WHITESPACE | rnix::SyntaxKind::TOKEN_COMMENT)
}

/// The first token after `token` that is not a blank or a comment.
fn next_significant(token: &rnix::SyntaxToken) -> Option<rnix::SyntaxToken> {
    let mut next = token.next_token();
    while let Some(t) = next.as_ref().filter(|t| is_trivia(t.kind())) {
        next = t.next_token();
    }
    next
}

/// Whether a token can end an expression (an operator may follow it).
fn ends_expression(kind: rnix::SyntaxKind) -> bool {
    use rnix::SyntaxKind as K;
    matches!(
        kind,
        K::TOKEN_IDENT
            | K::TOKEN_INTEGER
            | K::TOKEN_FLOAT
            | K::TOKEN_STRING_END
            | K::TOKEN_R_PAREN
            | K::TOKEN_R_BRACK
            | K::TOKEN_R_BRACE
            | K::TOKEN_PATH_ABS
            | K::TOKEN_PATH_HOME
            | K::TOKEN_PATH_REL
            | K::TOKEN_PATH_SEARCH
            | K::TOKEN_URI
            | K::TOKEN_CUR_POS
    )
}

pub(crate) fn parse_error(file: FileId, error: &rnix::ParseError, text: &str, root: &rnix::SyntaxNode) -> CompileError {
    use rnix::ParseError as P;
    let at = |range: rnix::TextRange| Span { file, start: range.start().into() };
    let eof = Span { file, start: text.len() as u32 };
    let found = |range: rnix::TextRange| {
        let start: usize = range.start().into();
        let rest = text.get(start..).unwrap_or("");
        match rnix::tokenize(rest).find(|(kind, _)| !is_trivia(*kind)) {
            Some((kind, text)) => text_token_name(kind, text).to_string(),
            None => "end of file".to_string(),
        }
    };
    if let Some(error) = error_offset(error).and_then(|start| let_as_operand(file, root, start)) {
        return error;
    }
    let (span, message) = match error {
        P::Unexpected(range) => (at(*range), format!("syntax error, unexpected {}", found(*range))),
        P::UnexpectedExtra(range) => {
            let found = found(*range);
            // A comparison cannot follow a comparison (they do not chain), where many other
            // tokens could: the reference lists none of them.
            let expected = match COMPARISONS.contains(&found.as_str()) {
                true => "",
                false => ", expecting end of file",
            };
            (at(*range), format!("syntax error, unexpected {found}{expected}"))
        }
        P::UnexpectedWanted(got, range, wanted) => {
            // An unterminated string or comment is one invalid token running to the end.
            let at_end = usize::from(range.end()) >= text.len();
            if *got == rnix::SyntaxKind::TOKEN_ERROR && at_end && wanted.contains(&rnix::SyntaxKind::TOKEN_STRING_END) {
                let string = root.token_at_offset(range.start()).right_biased().and_then(|token| open_string(&token));
                if let Some(error) = string.as_ref().and_then(|string| indented_string_name(file, string)) {
                    return error;
                }
                // A string left open: the reference's lexer reads on to the end of the file.
                let expected = match string.is_some_and(|string| is_indented(&string)) {
                    true => OPEN_INDENTED,
                    false => "'\"'",
                };
                return CompileError {
                    span: eof,
                    message: format!("syntax error, unexpected end of file, expecting {expected}"),
                };
            }
            if *got == rnix::SyntaxKind::TOKEN_ELLIPSIS && binding_expected(root, range.start()).is_some() {
                if let Some(error) = ellipsis_not_last(file, root, range.start()) {
                    return error;
                }
            }
            // A string or comment left open runs to the end; any other invalid token is one.
            let rest = text.get(usize::from(range.start())..).unwrap_or("");
            let open = rest.starts_with('"') || rest.starts_with("''") || rest.starts_with("/*");
            let got = match *got == rnix::SyntaxKind::TOKEN_ERROR && at_end && open {
                true => "end of file",
                false => text_token_name(*got, rest.get(..2).unwrap_or(rest)),
            };
            let expected = match binding_expected(root, range.start()) {
                Some(expected) if wanted.contains(&rnix::SyntaxKind::TOKEN_IDENT) => expected.to_string(),
                // A name `inherit` cannot take: the reference says nothing of what it wanted.
                _ if wanted.contains(&rnix::SyntaxKind::TOKEN_IDENT) && in_inherit(root, range.start()) => {
                    String::new()
                }
                _ if **wanted == [rnix::SyntaxKind::TOKEN_R_BRACE] && formal_may_follow(root, range.start()) => {
                    ", expecting '}' or ','".to_string()
                }
                _ if COMPARISONS.contains(&got) => String::new(),
                _ => expecting(wanted),
            };
            (at(*range), format!("syntax error, unexpected {got}{expected}"))
        }
        P::UnexpectedDoubleBind(range) => (at(*range), "syntax error, unexpected '@'".to_string()),
        P::UnexpectedEOF => (eof, format!("syntax error, unexpected end of file{}", open_at_end(root).unwrap_or(""))),
        P::UnexpectedEOFWanted(wanted) => {
            // An attribute name opened as an indented string (`a.''`): that is the error.
            let string = root.last_token().and_then(|token| open_string(&token));
            if let Some(error) = string.as_ref().and_then(|string| indented_string_name(file, string)) {
                return error;
            }
            if wanted.contains(&rnix::SyntaxKind::TOKEN_STRING_END) && string.as_ref().is_some_and(is_indented) {
                return CompileError {
                    span: eof,
                    message: format!("syntax error, unexpected end of file, expecting {OPEN_INDENTED}"),
                };
            }
            (eof, format!("syntax error, unexpected end of file{}", expecting(wanted)))
        }
        P::DuplicatedArgs(range, name) => (at(*range), format!("duplicate formal function argument '{name}'")),
        P::RecursionLimitExceeded => (eof, "syntax error, expression nested too deeply".to_string()),
        other => (eof, format!("syntax error, {other:?}")),
    };
    CompileError { span, message }
}

/// An attribute name written as an indented string (`{ ''a'' = 1; }`, `x.''a''`,
/// `inherit ''a'';`), which rnix accepts and the reference's grammar does not: the error for
/// `name`, an attribute name's string node, when it is one.
pub(crate) fn indented_string_name(file: FileId, name: &rnix::SyntaxNode) -> Option<CompileError> {
    use rnix::SyntaxKind as K;
    if name.first_token().is_none_or(|first| first.text() != "''") {
        return None;
    }
    let parent = name.parent().filter(|parent| matches!(parent.kind(), K::NODE_ATTRPATH | K::NODE_INHERIT))?;
    let first_of_binding = parent.kind() == K::NODE_ATTRPATH
        && parent.first_child().as_ref() == Some(name)
        && parent.parent().is_some_and(|binding| binding.kind() == K::NODE_ATTRPATH_VALUE);
    let expected = match parent.kind() {
        K::NODE_INHERIT => "",
        _ if first_of_binding => {
            parent.parent().and_then(|binding| binding.parent()).and_then(|c| container_expected(&c)).unwrap_or("")
        }
        _ => ", expecting identifier or 'or' or '${' or '\"'",
    };
    Some(CompileError {
        span: Span { file, start: name.text_range().start().into() },
        message: format!("syntax error, unexpected start of an indented string{expected}"),
    })
}

/// A parenthesis closed by another token (`(1 ]`, `(a with b; c)`), which rnix takes for
/// the `)` without a word: the reference wants `)` there. The error for `paren`, a
/// parenthesis's node, when it is one.
pub(crate) fn unclosed_paren(file: FileId, paren: &rnix::SyntaxNode) -> Option<CompileError> {
    use rnix::SyntaxKind as K;
    let last = paren.last_token()?;
    if paren.first_token().is_some_and(|first| first == last)
        || is_trivia(last.kind())
        || matches!(last.kind(), K::TOKEN_R_PAREN | K::TOKEN_ERROR)
        || last.parent().as_ref() != Some(paren)
    {
        return None;
    }
    if last.kind() == K::TOKEN_LET {
        // An argument `let { … }` to what precedes it, for the reference.
        return let_as_operand(file, &paren.ancestors().last()?, last.text_range().start().into());
    }
    let found = named(&last);
    let expected = if COMPARISONS.contains(&found) { "" } else { ", expecting ')'" };
    Some(CompileError {
        span: Span { file, start: last.text_range().start().into() },
        message: format!("syntax error, unexpected {found}{expected}"),
    })
}

/// A path followed by an interpolation after a blank (`./a ${x}`), which rnix takes for one
/// interpolated path: for the reference the path ends at the blank, and `${` cannot follow
/// it. The error for `path`, a path's node, when it is one.
pub(crate) fn path_with_gap(file: FileId, path: &rnix::SyntaxNode) -> Option<CompileError> {
    let blank = path.children_with_tokens().position(|child| is_trivia(child.kind()))?;
    let next = path.children_with_tokens().skip(blank).find(|child| !is_trivia(child.kind()))?;
    let token = match next {
        rnix::NodeOrToken::Token(token) => token,
        rnix::NodeOrToken::Node(node) => node.first_token()?,
    };
    Some(CompileError {
        span: Span { file, start: token.text_range().start().into() },
        message: format!("syntax error, unexpected {}{}", named(&token), after_operand(path)),
    })
}

/// The first error in the tree that rnix let through (see [`unclosed_paren`],
/// [`function_as_operand`], [`path_with_gap`] and [`indented_string_name`]), for a text
/// where rnix found another: the reference stops at whichever comes first.
pub(crate) fn let_through(file: FileId, root: &rnix::SyntaxNode) -> Option<CompileError> {
    use rnix::SyntaxKind as K;
    root.descendants()
        .filter_map(|node| match node.kind() {
            K::NODE_PAREN => unclosed_paren(file, &node),
            K::NODE_LAMBDA => function_as_operand(file, &node),
            K::NODE_PATH_ABS | K::NODE_PATH_REL | K::NODE_PATH_HOME => path_with_gap(file, &node),
            K::NODE_STRING => indented_string_name(file, &node),
            _ => None,
        })
        .min_by_key(|error| error.span.start)
}

/// A function where the reference's grammar allows only an operand (`f x: x`, `1 + x: x`,
/// `[ x: x ]`, `a.b or x: x`), which rnix accepts: a function must be the whole of an
/// expression, or in parentheses. The error for `lambda`, a function's node, when it is one:
/// where the reference's parser stops, at the `:` (or `@`) once the operand before it is
/// whole, or inside braces that it read as a set.
pub(crate) fn function_as_operand(file: FileId, lambda: &rnix::SyntaxNode) -> Option<CompileError> {
    use rnix::SyntaxKind as K;
    let operand_of = |node: &rnix::SyntaxNode| {
        matches!(
            node.kind(),
            K::NODE_APPLY | K::NODE_BIN_OP | K::NODE_UNARY_OP | K::NODE_SELECT | K::NODE_HAS_ATTR | K::NODE_LIST
        )
    };
    if !operand_of(&lambda.parent()?) {
        return None;
    }
    let at = |token: &rnix::SyntaxToken| Span { file, start: token.text_range().start().into() };
    let param = lambda.first_child()?;
    // The token after the operand, and what ends the expression around it.
    let stop = match param.kind() {
        K::NODE_PATTERN => {
            let parts: Vec<rnix::SyntaxElement> =
                param.children_with_tokens().filter(|part| !is_trivia(part.kind())).collect();
            match parts.as_slice() {
                // `x@{ … }`: the name is the operand, `@` the error.
                [rnix::NodeOrToken::Node(bind), ..] if bind.kind() == K::NODE_PAT_BIND => {
                    bind.children_with_tokens().filter_map(|e| e.into_token()).find(|t| t.kind() == K::TOKEN_AT)?
                }
                // `{ }` is an empty set: the error is what follows it.
                [open, rnix::NodeOrToken::Token(close), ..]
                    if open.kind() == K::TOKEN_L_BRACE && close.kind() == K::TOKEN_R_BRACE =>
                {
                    next_significant(close)?
                }
                // Formals are read as the bindings of a set, which they are not.
                [_, rnix::NodeOrToken::Token(ellipsis), ..] if ellipsis.kind() == K::TOKEN_ELLIPSIS => {
                    return Some(CompileError {
                        span: at(ellipsis),
                        message: "syntax error, unexpected '...', expecting 'inherit'".to_string(),
                    });
                }
                [_, rnix::NodeOrToken::Node(entry), ..] if entry.kind() == K::NODE_PAT_ENTRY => {
                    let next = next_significant(&entry.first_token()?)?;
                    return Some(CompileError {
                        span: at(&next),
                        message: format!("syntax error, unexpected {}, expecting '.' or '='", named(&next)),
                    });
                }
                _ => return None,
            }
        }
        _ => lambda.children_with_tokens().filter_map(|e| e.into_token()).find(|t| t.kind() == K::TOKEN_COLON)?,
    };
    Some(CompileError {
        span: at(&stop),
        message: format!("syntax error, unexpected {}{}", named(&stop), after_operand(lambda)),
    })
}

/// What the reference's parser says it expects after the operand that `node` is in, once it
/// is whole: what closes the expression around it.
fn after_operand(node: &rnix::SyntaxNode) -> &'static str {
    use rnix::SyntaxKind as K;
    let mut node = node.clone();
    while let Some(parent) = node.parent() {
        // Whether `node` comes before the keyword `kind` of its parent, or the keyword is
        // missing (the parser still wants it).
        let before = |kind: K| {
            parent
                .children_with_tokens()
                .find(|child| child.kind() == kind)
                .is_none_or(|token| node.text_range().end() <= token.text_range().start())
        };
        match parent.kind() {
            K::NODE_ROOT => return ", expecting end of file",
            K::NODE_PAREN | K::NODE_INHERIT_FROM => return ", expecting ')'",
            K::NODE_ATTRPATH_VALUE => return ", expecting ';'",
            K::NODE_INTERPOL | K::NODE_DYNAMIC => return ", expecting '}'",
            K::NODE_PAT_ENTRY => return ", expecting '}' or ','",
            K::NODE_LIST => return "",
            K::NODE_IF_ELSE if before(K::TOKEN_THEN) => return ", expecting 'then'",
            K::NODE_IF_ELSE if before(K::TOKEN_ELSE) => return ", expecting 'else'",
            K::NODE_ASSERT | K::NODE_WITH if before(K::TOKEN_SEMICOLON) => return ", expecting ';'",
            K::NODE_APPLY
            | K::NODE_BIN_OP
            | K::NODE_UNARY_OP
            | K::NODE_SELECT
            | K::NODE_HAS_ATTR
            | K::NODE_IF_ELSE
            | K::NODE_ASSERT
            | K::NODE_WITH
            | K::NODE_LET_IN
            | K::NODE_LAMBDA => node = parent,
            _ => return "",
        }
    }
    ""
}

/// `let … in` where only an operand may be (`1 + let a = 1; in a`, `f let …`): rnix stops at
/// the `let`; the reference's parser takes it for the start of the old `let { … }` and stops
/// at the token after it, wanting `{`.
fn let_as_operand(file: FileId, root: &rnix::SyntaxNode, start: u32) -> Option<CompileError> {
    use rnix::SyntaxKind as K;
    let token = root.token_at_offset(start.into()).right_biased().filter(|token| token.kind() == K::TOKEN_LET)?;
    // Where a binding was due, it is that error (`{ let`).
    if binding_expected(root, token.text_range().start()).is_some() {
        return None;
    }
    let (span, found) = match &next_significant(&token) {
        Some(next) if next.kind() == K::TOKEN_L_BRACE => return None,
        Some(next) => (Span { file, start: next.text_range().start().into() }, named(next)),
        None => (Span { file, start: root.text_range().end().into() }, "end of file"),
    };
    Some(CompileError { span, message: format!("syntax error, unexpected {found}, expecting '{{'") })
}

/// Whether the error at `start` is among the names of an `inherit`.
fn in_inherit(root: &rnix::SyntaxNode, start: rnix::TextSize) -> bool {
    let Some(token) = root.token_at_offset(start).right_biased() else { return false };
    let error = token.parent().filter(|node| node.kind() == rnix::SyntaxKind::NODE_ERROR);
    error.and_then(|node| node.parent()).is_some_and(|node| node.kind() == rnix::SyntaxKind::NODE_INHERIT)
}

/// Whether, at `start` in a function's formals, another formal could follow (`{ a, b : 1`),
/// not after the ellipsis, which must be last.
fn formal_may_follow(root: &rnix::SyntaxNode, start: rnix::TextSize) -> bool {
    use rnix::SyntaxKind as K;
    let Some(token) = root.token_at_offset(start).right_biased() else { return false };
    if token.parent_ancestors().nth(1).is_none_or(|node| node.kind() != K::NODE_PATTERN) {
        return false;
    }
    let mut before = token.prev_token();
    while let Some(t) = before.as_ref().filter(|t| is_trivia(t.kind())) {
        before = t.prev_token();
    }
    before.is_some_and(|t| t.kind() != K::TOKEN_ELLIPSIS)
}

/// Whether a string node is an indented one (`''…`).
fn is_indented(string: &rnix::SyntaxNode) -> bool {
    string.first_token().is_some_and(|first| first.text() == "''")
}

/// The string node `token` is in.
fn open_string(token: &rnix::SyntaxToken) -> Option<rnix::SyntaxNode> {
    token.parent_ancestors().find(|node| node.kind() == rnix::SyntaxKind::NODE_STRING)
}

/// `{ ...` can only start a function's formals, where the reference's parser wants `}` right
/// after the ellipsis: the error is at the token that follows it.
fn ellipsis_not_last(file: FileId, root: &rnix::SyntaxNode, start: rnix::TextSize) -> Option<CompileError> {
    use rnix::SyntaxKind as K;
    let ellipsis = root.token_at_offset(start).right_biased()?;
    let set = ellipsis.parent_ancestors().find(|node| node.kind() != K::NODE_ERROR && node.kind() != K::NODE_ATTRPATH);
    let set = set.and_then(|node| node.parent()).filter(|node| node.kind() == K::NODE_ATTR_SET)?;
    if set.children_with_tokens().any(|child| child.kind() == K::TOKEN_REC) {
        return None;
    }
    let (span, found) = match next_significant(&ellipsis) {
        Some(token) => (Span { file, start: token.text_range().start().into() }, named(&token)),
        None => (Span { file, start: root.text_range().end().into() }, "end of file"),
    };
    Some(CompileError { span, message: format!("syntax error, unexpected {found}, expecting '}}'") })
}

/// What the reference's parser says it expects where a binding was due (`{ if = 1; }`): its
/// grammar names only `inherit` there, and `}` or `in` as the set or `let` allows.
fn binding_expected(root: &rnix::SyntaxNode, start: rnix::TextSize) -> Option<&'static str> {
    use rnix::SyntaxKind as K;
    let token = root.token_at_offset(start).right_biased()?;
    let error = token.parent().filter(|node| node.kind() == K::NODE_ERROR)?;
    let path = error.parent().filter(|node| node.kind() == K::NODE_ATTRPATH)?;
    // At the start of the attribute path, not after one of its dots.
    if path.first_child().as_ref() != Some(&error) {
        return None;
    }
    let binding = path.parent().filter(|node| node.kind() == K::NODE_ATTRPATH_VALUE)?;
    container_expected(&binding.parent()?)
}

/// `", expecting …"` where a binding may start in `container` (a set or a `let`).
fn container_expected(container: &rnix::SyntaxNode) -> Option<&'static str> {
    use rnix::SyntaxKind as K;
    let has = |kind: K| container.children_with_tokens().any(|child| child.kind() == kind);
    match container.kind() {
        K::NODE_ATTR_SET if has(K::TOKEN_REC) => Some(", expecting 'inherit' or '}'"),
        K::NODE_ATTR_SET => Some(", expecting 'inherit'"),
        K::NODE_LEGACY_LET => Some(", expecting 'inherit' or '}'"),
        K::NODE_LET_IN => Some(", expecting 'in' or 'inherit'"),
        _ => None,
    }
}

/// What the reference's parser says it expects at the end of a text that leaves a set, a
/// `let` or a parenthesis open: a binding (`{ a = 1;`, `let`), or `)` after a whole
/// expression (`(1 + 2`); nothing otherwise (`(1 +`).
fn open_at_end(root: &rnix::SyntaxNode) -> Option<&'static str> {
    use rnix::SyntaxKind as K;
    let mut last = root.last_token()?;
    while is_trivia(last.kind()) {
        last = last.prev_token()?;
    }
    let ends_expression = ends_expression(last.kind());
    for node in last.parent_ancestors() {
        let has = |kind: K| node.children_with_tokens().any(|child| child.kind() == kind);
        match node.kind() {
            K::NODE_ATTR_SET | K::NODE_LEGACY_LET if !has(K::TOKEN_R_BRACE) => {
                let binding_due = matches!(last.kind(), K::TOKEN_SEMICOLON | K::TOKEN_L_BRACE);
                return container_expected(&node).filter(|_| binding_due);
            }
            K::NODE_LET_IN if !has(K::TOKEN_IN) => {
                let binding_due = matches!(last.kind(), K::TOKEN_SEMICOLON | K::TOKEN_LET);
                return container_expected(&node).filter(|_| binding_due);
            }
            K::NODE_PAREN if !has(K::TOKEN_R_PAREN) => return ends_expression.then_some(", expecting ')'"),
            // In a list, many tokens could come next: the reference lists none.
            K::NODE_LIST if !has(K::TOKEN_R_BRACK) => return None,
            _ => {}
        }
    }
    None
}

/// ", expecting …" as the reference's parser words it; nothing for the generic list of
/// tokens that can start an expression, which the reference does not spell out either.
fn expecting(wanted: &[rnix::SyntaxKind]) -> String {
    use rnix::SyntaxKind as K;
    if wanted.contains(&K::TOKEN_L_PAREN) && wanted.contains(&K::TOKEN_REC) {
        return String::new();
    }
    if wanted.contains(&K::TOKEN_IDENT) && wanted.contains(&K::TOKEN_OR) {
        return ", expecting identifier or 'or' or '${' or '\"'".to_string();
    }
    if wanted.contains(&K::TOKEN_STRING_END) {
        return ", expecting '\"'".to_string();
    }
    if wanted == [K::TOKEN_ASSIGN] {
        return ", expecting '.' or '='".to_string();
    }
    let names: Vec<&str> = wanted.iter().map(|k| token_name(*k)).collect();
    if names.is_empty() {
        return String::new();
    }
    format!(", expecting {}", names.join(" or "))
}

/// The reference parser's name for a token of the tree.
fn named(token: &rnix::SyntaxToken) -> &'static str {
    text_token_name(token.kind(), token.text())
}

/// The reference parser's name for a token of kind `kind` written `text`: an indented
/// string's start is named apart.
fn text_token_name(kind: rnix::SyntaxKind, text: &str) -> &'static str {
    match kind {
        rnix::SyntaxKind::TOKEN_STRING_START if text == "''" => "start of an indented string",
        _ => token_name(kind),
    }
}

/// The reference parser's name for a token.
fn token_name(kind: rnix::SyntaxKind) -> &'static str {
    use rnix::SyntaxKind as K;
    match kind {
        K::TOKEN_SEMICOLON => "';'",
        K::TOKEN_ASSIGN => "'='",
        K::TOKEN_DOT => "'.'",
        K::TOKEN_IDENT => "identifier",
        K::TOKEN_OR => "'or'",
        K::TOKEN_L_BRACE => "'{'",
        K::TOKEN_R_BRACE => "'}'",
        K::TOKEN_L_PAREN => "'('",
        K::TOKEN_R_PAREN => "')'",
        K::TOKEN_L_BRACK => "'['",
        K::TOKEN_R_BRACK => "']'",
        K::TOKEN_COLON => "':'",
        K::TOKEN_COMMA => "','",
        K::TOKEN_ELLIPSIS => "'...'",
        K::TOKEN_AT => "'@'",
        K::TOKEN_QUESTION => "'?'",
        K::TOKEN_IN => "'in'",
        K::TOKEN_LET => "'let'",
        K::TOKEN_IF => "'if'",
        K::TOKEN_THEN => "'then'",
        K::TOKEN_ELSE => "'else'",
        K::TOKEN_ASSERT => "'assert'",
        K::TOKEN_WITH => "'with'",
        K::TOKEN_REC => "'rec'",
        K::TOKEN_INHERIT => "'inherit'",
        K::TOKEN_SUB => "'-'",
        K::TOKEN_ADD => "'+'",
        K::TOKEN_MUL => "'*'",
        K::TOKEN_DIV => "'/'",
        K::TOKEN_CONCAT => "'++'",
        K::TOKEN_UPDATE => "'//'",
        K::TOKEN_STRING_START | K::TOKEN_STRING_END => "'\"'",
        K::TOKEN_INTERPOL_START => "'${'",
        K::TOKEN_INTERPOL_END => "'}'",
        K::TOKEN_INTEGER => "integer",
        K::TOKEN_FLOAT => "floating-point literal",
        K::TOKEN_PATH_ABS | K::TOKEN_PATH_REL => "path",
        K::TOKEN_PATH_HOME => "'~/…' path",
        K::TOKEN_PATH_SEARCH => "'<…>' path",
        K::TOKEN_URI => "URI",
        K::TOKEN_AND_AND => "'&&'",
        K::TOKEN_OR_OR => "'||'",
        K::TOKEN_IMPLICATION => "'->'",
        K::TOKEN_EQUAL => "'=='",
        K::TOKEN_NOT_EQUAL => "'!='",
        K::TOKEN_LESS => "'<'",
        K::TOKEN_LESS_OR_EQ => "'<='",
        K::TOKEN_MORE => "'>'",
        K::TOKEN_MORE_OR_EQ => "'>='",
        K::TOKEN_INVERT => "'!'",
        K::TOKEN_PIPE_LEFT => "'<|'",
        K::TOKEN_PIPE_RIGHT => "'|>'",
        K::TOKEN_ERROR => "invalid token",
        _ => "token",
    }
}
