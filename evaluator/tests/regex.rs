//! `builtins.match` and `builtins.split` against a table of results printed by the reference
//! Nix (`nix-instantiate --eval --strict`): syntax and its errors, bracket expressions,
//! byte-wise matching, the choice among several possible matches, `split`'s handling of
//! empty matches, the automaton size limit, and long inputs and patterns that make a naive
//! backtracking matcher explode.

mod common;

use common::FixedEnvIo;
use nxe_evaluator::{run_with_big_stack, CodeCache, EvalRequest, EvalSettings, Evaluation, OutputMode, Source};
use std::rc::Rc;
use std::sync::Arc;

/// `(builtin, pattern, input, result)`: the result is what the reference prints, or
/// `error: ` and its message.
const CASES: &[(&str, &str, &str, &str)] = &[
    ("match", r"\.", r".", r"[ ]"),
    ("match", r"\[", r"[", r"[ ]"),
    ("match", r"\\", r"\", r"[ ]"),
    ("match", r"\(\)", r"()", r"[ ]"),
    ("match", r"\*\+\?", r"*+?", r"[ ]"),
    ("match", r"\{", r"{", r"[ ]"),
    ("match", r"\|", r"|", r"[ ]"),
    ("match", r"\^\$", r"^$", r"[ ]"),
    ("match", r"\.", r"a", r"null"),
    ("match", r"\d", r"1", r"error: invalid regular expression '\d'"),
    ("match", r"\w", r"a", r"error: invalid regular expression '\w'"),
    ("match", r"\s", r" ", r"error: invalid regular expression '\s'"),
    ("match", r"\b", r"b", r"error: invalid regular expression '\b'"),
    ("match", r"\]", r"]", r"error: invalid regular expression '\]'"),
    ("match", r"\}", r"}", r"error: invalid regular expression '\}'"),
    ("match", r"\-", r"-", r"error: invalid regular expression '\-'"),
    ("match", r"\/", r"/", r"error: invalid regular expression '\/'"),
    ("match", r"\n", r"n", r"error: invalid regular expression '\n'"),
    ("match", r"(a)\1", r"aa", r"error: invalid regular expression '(a)\1'"),
    ("match", r"\", r"x", r"error: invalid regular expression '\'"),
    ("match", r"a\", r"a", r"error: invalid regular expression 'a\'"),
    ("match", r"\x41", r"A", r"error: invalid regular expression '\x41'"),
    ("match", r"\$\{.*\}", r"${x}", r"error: invalid regular expression '\$\{.*\}'"),
    ("match", r"]", r"]", r"[ ]"),
    ("match", r"}", r"}", r"[ ]"),
    ("match", r"a}", r"a}", r"[ ]"),
    ("match", r"a]b", r"a]b", r"[ ]"),
    ("match", r"{", r"{", r"error: invalid regular expression '{'"),
    ("match", r"a{", r"a{", r"error: invalid regular expression 'a{'"),
    ("match", r"a{1", r"a", r"error: invalid regular expression 'a{1'"),
    ("match", r"a{1,", r"a", r"error: invalid regular expression 'a{1,'"),
    ("match", r"a{,2}", r"a", r"error: invalid regular expression 'a{,2}'"),
    ("match", r"a{}", r"a", r"error: invalid regular expression 'a{}'"),
    ("match", r"a{x}", r"a", r"error: invalid regular expression 'a{x}'"),
    ("match", r"a{2,1}", r"a", r"error: invalid regular expression 'a{2,1}'"),
    ("match", r"a{ 1}", r"a", r"error: invalid regular expression 'a{ 1}'"),
    ("match", r"a{2147483648}", r"a", r"error: invalid regular expression 'a{2147483648}'"),
    ("match", r"a{01}", r"a", r"[ ]"),
    ("match", r"a{2}", r"aa", r"[ ]"),
    ("match", r"a{2}", r"aaa", r"null"),
    ("match", r"a{2,}", r"aaaa", r"[ ]"),
    ("match", r"a{2,3}", r"aaaa", r"null"),
    ("match", r"a{0}b", r"b", r"[ ]"),
    ("match", r"(a){0}b", r"b", r"[ null ]"),
    ("match", r"a{1}{2}", r"aa", r"[ ]"),
    ("match", r"(a{1}){2}", r"aa", r#"[ "a" ]"#),
    ("match", r"(a){2,3}", r"aaa", r#"[ "a" ]"#),
    ("match", r"(a|b){2}(a*)", r"abaa", r#"[ "b" "aa" ]"#),
    ("match", r"(){2}", r"", r#"[ "" ]"#),
    ("match", r"a**", r"aaa", r"[ ]"),
    ("match", r"a+*", r"", r"[ ]"),
    ("match", r"a?*", r"aa", r"[ ]"),
    ("match", r"(a*?)(a*)", r"aa", r#"[ "aa" "" ]"#),
    ("match", r"(a??)(a*)", r"aa", r#"[ "a" "a" ]"#),
    ("match", r"(a+?)(a*)", r"aa", r#"[ "aa" "" ]"#),
    ("match", r"*a", r"*a", r"error: invalid regular expression '*a'"),
    ("match", r"+a", r"+a", r"error: invalid regular expression '+a'"),
    ("match", r"?a", r"?a", r"error: invalid regular expression '?a'"),
    ("match", r"{1}a", r"a", r"error: invalid regular expression '{1}a'"),
    ("match", r"^*", r"", r"error: invalid regular expression '^*'"),
    ("match", r"$*", r"", r"error: invalid regular expression '$*'"),
    ("match", r"^+a", r"a", r"error: invalid regular expression '^+a'"),
    ("match", r"(*a)", r"a", r"error: invalid regular expression '(*a)'"),
    ("match", r"(|*a)", r"a", r"error: invalid regular expression '(|*a)'"),
    ("match", r"a|*b", r"b", r"error: invalid regular expression 'a|*b'"),
    ("match", r"(^)*", r"", r#"[ "" ]"#),
    ("match", r"(", r"", r"error: invalid regular expression '('"),
    ("match", r")", r")", r"error: invalid regular expression ')'"),
    ("match", r"a)", r"a)", r"error: invalid regular expression 'a)'"),
    ("match", r"(a", r"a", r"error: invalid regular expression '(a'"),
    ("match", r"((a)", r"a", r"error: invalid regular expression '((a)'"),
    ("match", r"()", r"", r#"[ "" ]"#),
    ("match", r"a||b", r"", r"[ ]"),
    ("match", r"|a", r"", r"[ ]"),
    ("match", r"a|", r"a", r"[ ]"),
    ("match", r"(|)", r"", r#"[ "" ]"#),
    ("match", r"", r"", r"[ ]"),
    ("match", r"", r"a", r"null"),
    ("match", r"a^b", r"a^b", r"null"),
    ("match", r"^^a", r"a", r"[ ]"),
    ("match", r"a$$", r"a", r"[ ]"),
    ("match", r"$a", r"a", r"null"),
    ("match", r"(^a)", r"a", r#"[ "a" ]"#),
    ("match", r"x(^a)", r"xa", r"null"),
    ("match", r"^$", r"", r"[ ]"),
    ("match", r"$^", r"", r"[ ]"),
    ("match", r"a$", "a\n", r"null"),
    ("match", r"^b", "a\nb", r"null"),
    ("match", r"(^|x)a", r"a", r#"[ "" ]"#),
    ("match", r"(.*)($)", r"ab", r#"[ "ab" "" ]"#),
    ("match", r"[]a]", r"]", r"[ ]"),
    ("match", r"[^]a]", r"b", r"[ ]"),
    ("match", r"[^]a]", r"]", r"null"),
    ("match", r"[]", r"]", r"error: invalid regular expression '[]'"),
    ("match", r"[^]", r"a", r"error: invalid regular expression '[^]'"),
    ("match", r"[a-]", r"-", r"[ ]"),
    ("match", r"[-a]", r"-", r"[ ]"),
    ("match", r"[c-a]", r"b", r"error: invalid regular expression '[c-a]'"),
    ("match", r"[a-a]", r"a", r"[ ]"),
    ("match", r"[--/]", r".", r"[ ]"),
    ("match", r"[!--]", r",", r"[ ]"),
    ("match", r"[a-c-e]", r"d", r"error: invalid regular expression '[a-c-e]'"),
    ("match", r"[a-c-]", r"-", r"[ ]"),
    ("match", r"[a--]", r"b", r"error: invalid regular expression '[a--]'"),
    ("match", r"[---]", r"-", r"[ ]"),
    ("match", r"[^-a]", r"-", r"null"),
    ("match", r"[]-a]", r"^", r"[ ]"),
    ("match", r"[\]", r"\", r"[ ]"),
    ("match", r"[\]]", r"\]", r"[ ]"),
    ("match", r"[\n]", r"n", r"[ ]"),
    ("match", r"[[]", r"[", r"[ ]"),
    ("match", r"[a[]", r"[", r"[ ]"),
    ("match", r"[!-[]", r"[", r"[ ]"),
    ("match", r"[!-[.c.]]", r"c", r"error: invalid regular expression '[!-[.c.]]'"),
    ("match", r"[a", r"a", r"error: invalid regular expression '[a'"),
    ("match", r"[a-", r"a", r"error: invalid regular expression '[a-'"),
    ("match", r"[^a]", "\n", r"[ ]"),
    ("match", r"[ab]+", r"abba", r"[ ]"),
    ("match", r"[^ab]+", r"cd", r"[ ]"),
    ("match", r"[[:alpha:]]+", r"aZ", r"[ ]"),
    ("match", r"[[:foo:]]", r"a", r"error: invalid regular expression '[[:foo:]]'"),
    ("match", r"[[:ALPHA:]]", r"a", r"[ ]"),
    ("match", r"[[:w:]]+", r"aA0_", r"[ ]"),
    ("match", r"[[:d:]]", r"1", r"[ ]"),
    ("match", r"[[:s:]]", r" ", r"[ ]"),
    ("match", r"[[:word:]]", r"_", r"error: invalid regular expression '[[:word:]]'"),
    ("match", r"[[:alpha:]-z]", r"-", r"error: invalid regular expression '[[:alpha:]-z]'"),
    ("match", r"[[:alpha:]-]", r"-", r"[ ]"),
    ("match", r"[[:upper:]]", r"a", r"null"),
    ("match", r"[[:lower:]]", r"A", r"null"),
    ("match", r"[[:space:]]+", " \t\n\r", r"[ ]"),
    ("match", r"[[:blank:]]", "\n", r"null"),
    ("match", r"[[:punct:]]+", r##"!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~"##, r"[ ]"),
    ("match", r"[[:xdigit:]]+", r"09afAF", r"[ ]"),
    ("match", r"[[:xdigit:]]", r"g", r"null"),
    ("match", r"[[:cntrl:]]", "\t", r"[ ]"),
    ("match", r"[[:print:]]+", r" a~", r"[ ]"),
    ("match", r"[[:graph:]]", r" ", r"null"),
    ("match", r"[[:alnum:]]+", r"aZ09", r"[ ]"),
    ("match", r"[[:alpha:]]", r"é", r"null"),
    ("match", r"[^[:alpha:]]+", r"é", r"[ ]"),
    ("match", r"[[:alpha:][:digit:]]+", r"a1", r"[ ]"),
    ("match", r"[[:alpha:]", r"a", r"error: invalid regular expression '[[:alpha:]'"),
    ("match", r"[[:]", r":", r"error: invalid regular expression '[[:]'"),
    ("match", r"[[.hyphen.]]", r"-", r"[ ]"),
    ("match", r"[[.-.]]", r"-", r"error: invalid regular expression '[[.-.]]'"),
    ("match", r"[[.space.]]", r" ", r"[ ]"),
    ("match", r"[[.zero.]]", r"0", r"[ ]"),
    ("match", r"[[.0.]]", r"0", r"error: invalid regular expression '[[.0.]]'"),
    ("match", r"[[.a.]-c]", r"b", r"[ ]"),
    ("match", r"[a-[.c.]]", r"b", r"error: invalid regular expression '[a-[.c.]]'"),
    ("match", r"[[.Space.]]", r" ", r"error: invalid regular expression '[[.Space.]]'"),
    ("match", r"[[.tab.]]", "\t", r"[ ]"),
    ("match", r"[[.left-square-bracket.]]", r"[", r"[ ]"),
    ("match", r"[[.NUL.]]", r"a", r"null"),
    ("match", r"[[.A.]]", r"a", r"null"),
    ("match", r"[[=a=]]", r"A", r"[ ]"),
    ("match", r"[[=A=]]", r"B", r"null"),
    ("match", r"[[=hyphen=]]", r"-", r"[ ]"),
    ("match", r"[[=ab=]]", r"a", r"error: invalid regular expression '[[=ab=]]'"),
    ("match", r"[[=a=]-c]", r"b", r"error: invalid regular expression '[[=a=]-c]'"),
    ("match", r"[[.a.]", r"a", r"error: invalid regular expression '[[.a.]'"),
    ("match", r"[é-é]+", r"°", r"[ ]"),
    ("match", r"[a-é]", r"b", r"error: invalid regular expression '[a-é]'"),
    ("match", r"[é-a]", r"A", r"[ ]"),
    ("match", r"[é]", r"é", r"null"),
    ("match", r"[é][é]", r"é", r"[ ]"),
    ("match", r"..", r"é", r"[ ]"),
    ("match", r".", r"é", r"null"),
    ("match", r"(日)(.)", r"日本", r"null"),
    ("match", r"(日)(...)", r"日本", r#"[ "日" "本" ]"#),
    ("match", r"(é)+", r"éé", r#"[ "é" ]"#),
    ("match", r".", "\n", r"[ ]"),
    ("match", r"a.b", "a\nb", r"[ ]"),
    ("match", r"(.*)", "a\nb", r#"[ "a\nb" ]"#),
    ("match", r"[^a]{2}", r"é", r"[ ]"),
    ("match", r"(a|ab)(c|bcd)(d*)", r"abcd", r#"[ "a" "bcd" "" ]"#),
    ("match", r"(a*)(a*)", r"aa", r#"[ "aa" "" ]"#),
    ("match", r"(a|aa)*", r"aa", r#"[ "a" ]"#),
    ("match", r"((a)|b)*", r"ab", r#"[ "b" "a" ]"#),
    ("match", r"((a)|b)*", r"ba", r#"[ "a" "a" ]"#),
    ("match", r"(a)|b", r"b", r"[ null ]"),
    ("match", r"(a*)*", r"aa", r#"[ "" ]"#),
    ("match", r"(a*)*", r"b", r"null"),
    ("match", r"(a*)*", r"", r#"[ "" ]"#),
    ("match", r"(a*)+", r"", r#"[ "" ]"#),
    ("match", r"(|a)+", r"aa", r#"[ "" ]"#),
    ("match", r"(a|)*b", r"ab", r#"[ "" ]"#),
    ("match", r"(a|)+b", r"b", r#"[ "" ]"#),
    ("match", r"((a*)*)*", r"", r#"[ "" "" ]"#),
    ("match", r"(()|a)*", r"aa", r#"[ "" "" ]"#),
    ("match", r"(a|())*", r"aa", r#"[ "" "" ]"#),
    ("match", r"((a)|())*", r"a", r#"[ "" "a" "" ]"#),
    ("match", r"(()|(a))*", r"a", r#"[ "" "" "a" ]"#),
    ("match", r"(a*|b)*", r"ab", r#"[ "" ]"#),
    ("match", r"((^)|.+)*", r"..", r#"[ ".." "" ]"#),
    ("match", r"((^)|(^)x|.)*", r"..", r#"[ "." "" null ]"#),
    ("match", r"((a)|(b))*", r"ab", r#"[ "b" "a" "b" ]"#),
    ("match", r"(a|b)*c", r"abac", r#"[ "a" ]"#),
    ("match", r"(a|ab)*c", r"ababc", r#"[ "ab" ]"#),
    ("match", r"(ab|a)(bc|c)?", r"abc", r#"[ "ab" "c" ]"#),
    ("match", r"x*", r"", r"[ ]"),
    ("match", r"(x)*", r"", r"[ null ]"),
    ("match", r"([0-9]+)\.([0-9]+)(\.([0-9]+))?(.*)", r"1.2.3-pre", r#"[ "1" "2" ".3" "3" "-pre" ]"#),
    ("match", r"([0-9]+)\.([0-9]+)(\.([0-9]+))?(.*)", r"10.20", r#"[ "10" "20" null null "" ]"#),
    ("match", r"[[:space:]]*([^[:space:]].*[^[:space:]])[[:space:]]*", "  hello world \n", r#"[ "hello world" ]"#),
    ("match", r"(.*)-([0-9].*)", r"foo-bar-1.2", r#"[ "foo-bar" "1.2" ]"#),
    ("match", r"([^/]*)/(.*)", r"a/b/c", r#"[ "a" "b/c" ]"#),
    ("match", r"(.*)\.(.*)", r"a.b.c", r#"[ "a.b" "c" ]"#),
    ("match", r"(.*)(.*)", r"ab", r#"[ "ab" "" ]"#),
    ("match", r"(a?)((ab)?)(b?)", r"ab", r#"[ "a" "" null "b" ]"#),
    ("match", r"((a)|(ab))((c)|(bc))", r"abc", r#"[ "a" "a" null "bc" null "bc" ]"#),
    ("split", r"(a*)", r"bab", r#"[ "" [ "" ] "b" [ "a" ] "" [ "" ] "b" [ "" ] "" ]"#),
    ("split", r"", r"abc", r#"[ "" [ ] "a" [ ] "b" [ ] "c" [ ] "" ]"#),
    ("split", r"x*", r"axxb", r#"[ "" [ ] "a" [ ] "" [ ] "b" [ ] "" ]"#),
    ("split", r".*", r"ab", r#"[ "" [ ] "" [ ] "" ]"#),
    ("split", r"^", r"ab", r#"[ "" [ ] "ab" ]"#),
    ("split", r"$", r"ab", r#"[ "ab" [ ] "" ]"#),
    ("split", r"a|^b", r"ab", r#"[ "" [ ] "b" ]"#),
    ("split", r"^a", r"aaa", r#"[ "" [ ] "aa" ]"#),
    ("split", r"a*", r"baaac", r#"[ "" [ ] "b" [ ] "" [ ] "c" [ ] "" ]"#),
    ("split", r"(a)|b", r"cab", r#"[ "c" [ "a" ] "" [ null ] "" ]"#),
    ("split", r"a?(ab)?", r"ab", r#"[ "" [ null ] "" [ null ] "b" [ null ] "" ]"#),
    ("split", r"a?(ab)?", r"aab", r#"[ "" [ "ab" ] "" [ null ] "" ]"#),
    ("split", r"(a|ab)(c|bcd)?", r"abcd", r#"[ "" [ "a" "bcd" ] "" ]"#),
    ("split", r"x", r"x", r#"[ "" [ ] "" ]"#),
    ("split", r"x", r"", r#"[ "" ]"#),
    ("split", r"", r"", r#"[ "" [ ] "" ]"#),
    ("split", r"()", r"ab", r#"[ "" [ "" ] "a" [ "" ] "b" [ "" ] "" ]"#),
    ("split", r"(^)|a", r"aa", r#"[ "" [ null ] "" [ null ] "" ]"#),
    ("split", r"b*|a", r"ab", r#"[ "" [ ] "" [ ] "" [ ] "" ]"#),
    ("split", r"(b*|a)*", r"ab", r#"[ "" [ "" ] "" [ "" ] "" ]"#),
    ("split", r"[[:space:]]+", r" a  b ", r#"[ "" [ ] "a" [ ] "b" [ ] "" ]"#),
    ("split", r"(,)|(;)", r"a,b;c", r#"[ "a" [ "," null ] "b" [ null ";" ] "c" ]"#),
    ("split", r"((a)|b)+", r"xaby", r#"[ "x" [ "b" "a" ] "y" ]"#),
    ("split", r".", r"日", r#"[ "" [ ] "" [ ] "" [ ] "" ]"#),
    ("split", r"(a|b)+|x", r"xabx", r#"[ "" [ null ] "" [ "b" ] "" [ null ] "" ]"#),
    ("split", r"a", r"bbb", r#"[ "bbb" ]"#),
    ("split", r"\d", r"x", r"error: invalid regular expression '\d'"),
    ("split", r"(\.|-)", r"1.2-3", r#"[ "1" [ "." ] "2" [ "-" ] "3" ]"#),
    ("match", r"a{99999}", r"", r"error: memory limit exceeded by regular expression 'a{99999}'"),
    ("match", r"a{1000}{1000}", r"", r"error: memory limit exceeded by regular expression 'a{1000}{1000}'"),
    ("match", r"(a|b){12499}", r"", r"error: memory limit exceeded by regular expression '(a|b){12499}'"),
    ("match", r"a{50000}b{50000}", r"", r"error: memory limit exceeded by regular expression 'a{50000}b{50000}'"),
    ("match", r"a{99999}\d", r"", r"error: invalid regular expression 'a{99999}\d'"),
    ("match", r"a{99999}(", r"", r"error: memory limit exceeded by regular expression 'a{99999}('"),
    ("match", r"a{2147483647}", r"", r"error: memory limit exceeded by regular expression 'a{2147483647}'"),
    ("split", r"a{0,100000}", r"a", r"error: memory limit exceeded by regular expression 'a{0,100000}'"),
];

/// Whole expressions with long inputs or patterns that backtrack a lot, and what the
/// reference prints for them.
const EXPRESSIONS: &[(&str, &str)] = &[
    (
        r#"builtins.stringLength (builtins.head (builtins.match "(.*)" (builtins.concatStringsSep "" (builtins.genList (x: "abcdefghij") 10000))))"#,
        r"100000",
    ),
    (
        r#"builtins.stringLength (builtins.head (builtins.match "[[:space:]]*([^[:space:]].*[^[:space:]])[[:space:]]*" (" " + (builtins.concatStringsSep "" (builtins.genList (x: "abcdefghij") 10000)) + " ")))"#,
        r"100000",
    ),
    (
        r#"builtins.length (builtins.split "c" (builtins.concatStringsSep "" (builtins.genList (x: "abcdefghij") 10000)))"#,
        r"20001",
    ),
    (
        r#"builtins.length (builtins.split "" (builtins.concatStringsSep "" (builtins.genList (x: "abcdefghij") 10000)))"#,
        r"200003",
    ),
    (
        r#"builtins.length (builtins.split "(x*)" (builtins.concatStringsSep "" (builtins.genList (x: "abcdefghij") 10000)))"#,
        r"200003",
    ),
    (r#"builtins.match "(a|aa)*b" (builtins.concatStringsSep "" (builtins.genList (x: "a") 24))"#, r"null"),
    (r#"builtins.match "(a*)*b" (builtins.concatStringsSep "" (builtins.genList (x: "a") 12))"#, r"null"),
    (r#"builtins.match "(a|aa)*" (builtins.concatStringsSep "" (builtins.genList (x: "a") 24))"#, r#"[ "a" ]"#),
    (
        r#"builtins.length (builtins.split "(a*x)?" (builtins.concatStringsSep "" (builtins.genList (x: "a") 2000)))"#,
        r"4003",
    ),
    (
        r#"map builtins.stringLength (builtins.match "(.*)(.*)(.*)j(.*)" (builtins.concatStringsSep "" (builtins.genList (x: "abcdefghij") 10000)))"#,
        r"[ 99999 0 0 0 ]",
    ),
    (r#"builtins.match "((a+)+)+b" (builtins.concatStringsSep "" (builtins.genList (x: "a") 14))"#, r"null"),
    (
        r#"builtins.length (builtins.split "(\.|-)" (builtins.concatStringsSep "." (builtins.genList toString 20000)))"#,
        r"217779",
    ),
];

/// A Nix string literal for `text`.
fn nix_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '$' => out.push_str("\\$"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Evaluates expressions strictly, in one evaluation session on a big stack.
fn evaluate_all(texts: Vec<String>) -> Vec<Result<String, String>> {
    run_with_big_stack(move || {
        let io = Rc::new(FixedEnvIo::new());
        let mut evaluation = Evaluation::with_io(EvalSettings::default(), io, Arc::new(CodeCache::default()));
        texts
            .into_iter()
            .map(|text| {
                let request = EvalRequest {
                    source: Source::Expression { text, base_dir: "/".to_string() },
                    attr_paths: Vec::new(),
                    auto_args: Vec::new(),
                    mode: OutputMode::Strict,
                };
                evaluation.evaluate(&request).map_err(|e| e.to_string())
            })
            .collect()
    })
}

/// Whether an evaluation outcome is the expected printed value or error.
fn agrees(actual: &Result<String, String>, expected: &str) -> bool {
    match (actual, expected.strip_prefix("error: ")) {
        (Ok(printed), None) => printed == expected,
        (Err(message), Some(wanted)) => message.contains(wanted),
        _ => false,
    }
}

#[test]
fn match_and_split_agree_with_the_reference() {
    assert!(CASES.len() >= 150);
    let texts = CASES
        .iter()
        .map(|(builtin, pattern, input, _)| format!("builtins.{builtin} {} {}", nix_string(pattern), nix_string(input)))
        .collect();
    let outcomes = evaluate_all(texts);
    let mismatches: Vec<String> = CASES
        .iter()
        .zip(&outcomes)
        .filter(|((_, _, _, expected), actual)| !agrees(actual, expected))
        .map(|((builtin, pattern, input, expected), actual)| {
            format!("{builtin} {pattern:?} {input:?}:\n  reference: {expected}\n  nxe:       {actual:?}")
        })
        .collect();
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
}

#[test]
fn long_inputs_and_backtracking_patterns_stay_fast() {
    let started = std::time::Instant::now();
    let outcomes = evaluate_all(EXPRESSIONS.iter().map(|(text, _)| text.to_string()).collect());
    for ((text, expected), actual) in EXPRESSIONS.iter().zip(&outcomes) {
        assert!(agrees(actual, expected), "{text}:\n  reference: {expected}\n  nxe:       {actual:?}");
    }
    assert!(started.elapsed().as_secs() < 60, "took {:?}", started.elapsed());
}

#[test]
fn exponential_patterns_on_long_inputs_are_polynomial() {
    // The reference itself takes exponential time here; the results follow from the
    // shorter cases above.
    let long = |unit: &str, count: usize| {
        format!("(builtins.concatStringsSep \"\" (builtins.genList (x: \"{unit}\") {count}))")
    };
    let texts = vec![
        format!("builtins.match \"(a|aa)*b\" {}", long("a", 100_000)),
        format!("builtins.match \"(a*)*b\" {}", long("a", 100_000)),
        format!("builtins.match \"((a+)+)+b\" {}", long("a", 100_000)),
        format!("builtins.match \"(|){{30}}(a|)*c\" {}", long("a", 100_000)),
        format!("builtins.length (builtins.split \"(a*x)?\" {})", long("a", 100_000)),
        format!("builtins.match \"(a|aa)*\" {}", long("a", 100_000)),
    ];
    let expected = ["null", "null", "null", "null", "200003", "[ \"a\" ]"];
    let started = std::time::Instant::now();
    let outcomes = evaluate_all(texts);
    for (actual, expected) in outcomes.iter().zip(expected) {
        assert!(agrees(actual, expected), "expected {expected}, got {actual:?}");
    }
    assert!(started.elapsed().as_secs() < 60, "took {:?}", started.elapsed());
}
