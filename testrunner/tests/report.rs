//! Reports: JSON lines and JUnit XML of a fixed set of records, compared with the committed
//! snapshots in `tests/snapshots/` (`NXE_ACCEPT=1` rewrites them for review in git), the
//! JUnit output checked for well-formedness, and the progress display in both modes.

use nxe_testrunner::report::{self, Counts, Progress, Status, TestKind, TestRecord};
use std::path::Path;
use std::time::Duration;

/// Records covering every kind and status, hosts and none, and text that needs escaping.
fn records() -> Vec<TestRecord> {
    vec![
        TestRecord::new("assertions", TestKind::Option, Some("web-01"), Status::Pass).with_seconds(0.125),
        TestRecord::new("assertions", TestKind::Option, Some("web-03"), Status::Fail)
            .with_reason(
                "secret `db-replication-password': secrets/db-replication-password.age is not encrypted to the web role\n  at modules/secrets.nix:100:9",
            )
            .with_seconds(0.25),
        TestRecord::new("types", TestKind::Option, Some("web-01"), Status::Fail)
            .with_reason("A definition for option `services.web.port' is not of type `16 bit unsigned integer'. Definition values:\n- In `hosts/web-01.nix': \"80\"")
            .with_seconds(0.5),
        TestRecord::new("hosts.web.testForcedWorkers", TestKind::Unit, None, Status::Fail)
            .with_reason("expected 8\nbut got  16\n- 8\n+ 16")
            .with_seconds(0.001),
        TestRecord::new("lib.types.\"a<b>&c\"", TestKind::Unit, None, Status::Pass),
        TestRecord::new("vm-test", TestKind::Check, Some("db-01"), Status::Flaky)
            .with_reason("failed once: timeout after 600 s, then passed")
            .with_seconds(12.5),
        TestRecord::new("backup-restore", TestKind::Check, Some("db-01"), Status::Skip).with_reason("no builder for \"aarch64-linux\""),
        TestRecord::new("secrets", TestKind::Policy, Some("web-05"), Status::Fail)
            .with_reason("web-05: the secret file secrets/tls-shop-staging.age is in the store as /nix/store/aaaa-tls-shop-staging.age\u{1}"),
        TestRecord::new("backups", TestKind::Policy, Some("web-05"), Status::Pass).with_seconds(0.0625),
    ]
}

/// Compares `actual` with the snapshot file `name`, or rewrites it under `NXE_ACCEPT=1`.
fn check_snapshot(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots").join(name);
    if std::env::var_os("NXE_ACCEPT").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("snapshot directory");
        std::fs::write(&path, actual).expect("write snapshot");
        return;
    }
    let expected =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e} (NXE_ACCEPT=1 writes it)", path.display()));
    if expected != actual {
        panic!("{} differs (NXE_ACCEPT=1 rewrites it):\n{}", name, nxe_testrunner::unit::line_diff(&expected, actual));
    }
}

#[test]
fn json_lines_snapshot() {
    let mut out = Vec::new();
    report::write_json_lines(&mut out, &records()).expect("written");
    let text = String::from_utf8(out).expect("UTF-8");
    check_snapshot("report.jsonl", &text);
    // One object per line, which reads back as the same record.
    let back: Vec<TestRecord> = text.lines().map(|line| serde_json::from_str(line).expect("a record")).collect();
    assert_eq!(back, records());
}

#[test]
fn junit_snapshot_is_well_formed() {
    let mut out = Vec::new();
    report::write_junit(&mut out, &records()).expect("written");
    let text = String::from_utf8(out).expect("UTF-8");
    check_snapshot("report.junit.xml", &text);
    assert_eq!(well_formed(&text), Ok(()));
    assert!(text
        .contains("<testsuites name=\"nxe\" tests=\"9\" failures=\"4\" errors=\"0\" skipped=\"1\" time=\"13.438\">"));
    let suites: Vec<&str> = text.lines().filter(|l| l.trim_start().starts_with("<testsuite ")).collect();
    assert_eq!(suites.len(), 4, "one suite per kind");
}

#[test]
fn junit_without_records_is_an_empty_document() {
    let mut out = Vec::new();
    report::write_junit(&mut out, &[]).expect("written");
    let text = String::from_utf8(out).expect("UTF-8");
    assert_eq!(
        text,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"nxe\" tests=\"0\" failures=\"0\" errors=\"0\" skipped=\"0\" time=\"0.000\">\n</testsuites>\n"
    );
    assert_eq!(well_formed(&text), Ok(()));
}

#[test]
fn the_well_formedness_check_catches_broken_xml() {
    let broken = [
        "<a><b></a></b>",
        "<a x=\"1\" x=\"2\"/>",
        "<a>1 < 2</a>",
        "<a>&nbsp;</a>",
        "<a x=\"<\"/>",
        "<a/><b/>",
        "<a>\u{1}</a>",
        "<a>",
    ];
    for text in broken {
        assert!(well_formed(text).is_err(), "{text:?} is not well-formed");
    }
    assert_eq!(well_formed("<?xml version=\"1.0\"?>\n<a x='1'><!-- c --><b>&amp;&#10;&#x41;</b></a>\n"), Ok(()));
}

#[test]
fn plain_progress_prints_one_line_per_test_and_a_summary() {
    let records = records();
    let mut progress = Progress::new(Vec::new(), records.len(), false).with_clock(|| Duration::from_secs(75));
    for record in &records {
        progress.started(&record.label()).expect("written");
        progress.finished(record).expect("written");
    }
    progress.finish().expect("written");
    assert_eq!(progress.counts(), Counts { tests: 9, passed: 3, failed: 4, skipped: 1, flaky: 1 });
    let text = String::from_utf8(progress.into_inner()).expect("UTF-8");
    let expected = "\
[1/9] pass  option web-01 assertions (0.12s)
[2/9] fail  option web-03 assertions (0.25s)
    secret `db-replication-password': secrets/db-replication-password.age is not encrypted to the web role
      at modules/secrets.nix:100:9
[3/9] fail  option web-01 types (0.50s)
    A definition for option `services.web.port' is not of type `16 bit unsigned integer'. Definition values:
    - In `hosts/web-01.nix': \"80\"
[4/9] fail  unit hosts.web.testForcedWorkers (0.00s)
    expected 8
    but got  16
    - 8
    + 16
[5/9] pass  unit lib.types.\"a<b>&c\" (0.00s)
[6/9] flaky check db-01 vm-test (12.50s)
    failed once: timeout after 600 s, then passed
[7/9] skip  check db-01 backup-restore (0.00s)
    no builder for \"aarch64-linux\"
[8/9] fail  policy web-05 secrets (0.00s)
    web-05: the secret file secrets/tls-shop-staging.age is in the store as /nix/store/aaaa-tls-shop-staging.age\u{1}
[9/9] pass  policy web-05 backups (0.06s)
9 tests: 3 passed, 4 failed, 1 skipped, 1 flaky in 1:15
";
    assert_eq!(text, expected);
    assert!(!text.contains('\r'), "no terminal control in plain mode");
}

#[test]
fn live_progress_rewrites_one_status_line() {
    let pass = TestRecord::new("testA", TestKind::Unit, None, Status::Pass);
    let fail = TestRecord::new("secrets", TestKind::Policy, Some("db-03"), Status::Fail).with_reason("leaked");
    let mut progress = Progress::new(Vec::new(), 2, true).with_clock(|| Duration::from_secs(3725)).with_width(40);
    progress.started(&pass.label()).expect("written");
    progress.started(&fail.label()).expect("written");
    progress.finished(&pass).expect("written");
    progress.finished(&fail).expect("written");
    progress.finish().expect("written");
    let text = String::from_utf8(progress.into_inner()).expect("UTF-8");
    let clear = "\r\x1b[2K";
    let expected = [
        format!("{clear}[0/2 1:02:05] unit testA"),
        format!("{clear}[0/2 1:02:05] unit testA (+1 more)"),
        format!("{clear}{clear}[1/2 1:02:05] policy db-03 secrets"),
        format!("{clear}[2/2] fail  policy db-03 secrets (0.00s)\n    leaked\n{clear}[2/2 1:02:05]"),
        format!("{clear}2 tests: 1 passed, 1 failed, 0 skipped, 0 flaky in 1:02:05\n"),
    ]
    .concat();
    assert_eq!(text, expected);
}

#[test]
fn escaping_keeps_xml_valid() {
    assert_eq!(report::escape_attr("a\"b'<c>&\n\t"), "a&quot;b&apos;&lt;c&gt;&amp;&#10;&#9;");
    assert_eq!(report::escape_text("1 < 2 && 3 > 2 ]]> \u{0}"), "1 &lt; 2 &amp;&amp; 3 &gt; 2 ]]&gt; \u{FFFD}");
}

/// A small XML 1.0 well-formedness check: one root element, balanced tags, quoted and
/// unique attributes, only predefined or numeric references, no raw `<` or `&` in text or
/// attribute values, only characters XML allows, comments and a leading declaration.
fn well_formed(text: &str) -> Result<(), String> {
    struct Parser {
        chars: Vec<char>,
        pos: usize,
    }
    impl Parser {
        fn peek(&self) -> Option<char> {
            self.chars.get(self.pos).copied()
        }
        fn starts(&self, prefix: &str) -> bool {
            prefix.chars().enumerate().all(|(i, c)| self.chars.get(self.pos + i) == Some(&c))
        }
        fn expect(&mut self, prefix: &str) -> Result<(), String> {
            if !self.starts(prefix) {
                return Err(format!("expected {prefix:?} at {}", self.pos));
            }
            self.pos += prefix.chars().count();
            Ok(())
        }
        fn spaces(&mut self) -> usize {
            let start = self.pos;
            while self.peek().is_some_and(|c| matches!(c, ' ' | '\t' | '\n' | '\r')) {
                self.pos += 1;
            }
            self.pos - start
        }
        fn name(&mut self) -> Result<String, String> {
            let start = self.pos;
            match self.peek() {
                Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':' => self.pos += 1,
                _ => return Err(format!("expected a name at {start}")),
            }
            while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '.' | '-')) {
                self.pos += 1;
            }
            Ok(self.chars[start..self.pos].iter().collect())
        }
        fn reference(&mut self) -> Result<(), String> {
            self.expect("&")?;
            let start = self.pos;
            while self.peek().is_some_and(|c| c != ';') {
                self.pos += 1;
            }
            let body: String = self.chars[start..self.pos].iter().collect();
            self.expect(";")?;
            let numeric = |digits: &str, radix| {
                u32::from_str_radix(digits, radix).ok().and_then(char::from_u32).is_some_and(xml_char)
            };
            let valid = match body.as_str() {
                "amp" | "lt" | "gt" | "quot" | "apos" => true,
                _ => match body.strip_prefix("#x") {
                    Some(hex) => numeric(hex, 16),
                    None => body.strip_prefix('#').is_some_and(|dec| numeric(dec, 10)),
                },
            };
            if valid {
                Ok(())
            } else {
                Err(format!("bad reference &{body}; at {start}"))
            }
        }
        fn char_data(&mut self, stop: char) -> Result<(), String> {
            while let Some(c) = self.peek() {
                if c == stop || c == '<' {
                    break;
                }
                if !xml_char(c) {
                    return Err(format!("character {c:?} not allowed at {}", self.pos));
                }
                if c == '&' {
                    self.reference()?;
                } else {
                    if stop == '<' && self.starts("]]>") {
                        return Err(format!("]]> in text at {}", self.pos));
                    }
                    self.pos += 1;
                }
            }
            Ok(())
        }
        fn comment(&mut self) -> Result<(), String> {
            self.expect("<!--")?;
            while !self.starts("-->") {
                if self.peek().is_none() {
                    return Err("unterminated comment".into());
                }
                self.pos += 1;
            }
            self.expect("-->")
        }
        fn element(&mut self) -> Result<(), String> {
            self.expect("<")?;
            let name = self.name()?;
            let mut attributes = Vec::new();
            loop {
                let had_space = self.spaces() > 0;
                if self.starts("/>") {
                    return self.expect("/>");
                }
                if self.starts(">") {
                    self.expect(">")?;
                    break;
                }
                if !had_space {
                    return Err(format!("expected a space before an attribute at {}", self.pos));
                }
                let attribute = self.name()?;
                if attributes.contains(&attribute) {
                    return Err(format!("attribute {attribute} repeated"));
                }
                attributes.push(attribute);
                self.spaces();
                self.expect("=")?;
                self.spaces();
                let quote = self.peek().filter(|c| *c == '"' || *c == '\'').ok_or("expected a quote")?;
                self.pos += 1;
                self.char_data(quote)?;
                if self.peek() != Some(quote) {
                    return Err(format!("'<' or end of input in an attribute value at {}", self.pos));
                }
                self.pos += 1;
            }
            loop {
                self.char_data('<')?;
                if self.starts("</") {
                    self.expect("</")?;
                    let closing = self.name()?;
                    if closing != name {
                        return Err(format!("</{closing}> closes <{name}>"));
                    }
                    self.spaces();
                    return self.expect(">");
                } else if self.starts("<!--") {
                    self.comment()?;
                } else if self.starts("<") {
                    self.element()?;
                } else {
                    return Err(format!("<{name}> is not closed"));
                }
            }
        }
    }
    fn xml_char(c: char) -> bool {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
    }
    let mut parser = Parser { chars: text.chars().collect(), pos: 0 };
    if parser.starts("<?xml") {
        while !parser.starts("?>") {
            if parser.peek().is_none() {
                return Err("unterminated declaration".into());
            }
            parser.pos += 1;
        }
        parser.expect("?>")?;
    }
    parser.spaces();
    while parser.starts("<!--") {
        parser.comment()?;
        parser.spaces();
    }
    parser.element()?;
    parser.spaces();
    if parser.pos != parser.chars.len() {
        return Err(format!("content after the root element at {}", parser.pos));
    }
    Ok(())
}

#[test]
fn records_of_each_kind_of_result() {
    use nxe_testrunner::options::{Finding, FindingKind, Position};
    use nxe_testrunner::policy::{Outcome, PolicyKind};
    use nxe_testrunner::unit::{Mismatch, UnitOutcome, UnitResult};

    let warning = Finding {
        host: "bastion-02".into(),
        kind: FindingKind::Warning,
        option: None,
        message: "password logins are on".into(),
        position: None,
    };
    let wrong_type = Finding {
        host: "bastion-02".into(),
        kind: FindingKind::OptionDefinition,
        option: Some("services.ssh.port".into()),
        message: "A definition for option `services.ssh.port' is not of type `16 bit unsigned integer'.".into(),
        position: Some(Position { file: "hosts/bastion-02.nix".into(), line_col: Some((7, 3)) }),
    };
    let only_warning = TestRecord::options("bastion-02", std::slice::from_ref(&warning), 0.5);
    assert_eq!(
        (only_warning.status, only_warning.reason.as_deref()),
        (Status::Pass, Some("bastion-02: warning: password logins are on"))
    );
    let failed = TestRecord::options("bastion-02", &[warning, wrong_type], 0.5);
    assert_eq!(failed.status, Status::Fail);
    assert_eq!(
        failed.reason.as_deref(),
        Some("bastion-02: warning: password logins are on\nbastion-02: option: A definition for option `services.ssh.port' is not of type `16 bit unsigned integer'.\n  at hosts/bastion-02.nix:7:3")
    );

    let statuses: Vec<Status> = [Outcome::Disabled, Outcome::Error("boom".into()), Outcome::Checked(Vec::new())]
        .iter()
        .map(|outcome| TestRecord::policy("db-01", PolicyKind::Backups, outcome, 0.0).status)
        .collect();
    assert_eq!(statuses, [Status::Skip, Status::Skip, Status::Pass]);

    let outcome = UnitOutcome {
        path: vec!["a".into(), "testB".into()],
        name: "a.testB".into(),
        position: Some("tests.nix:3:5".into()),
        result: UnitResult::Fail(Mismatch { expected: "1".into(), actual: "2".into(), diff: "- 1\n+ 2\n".into() }),
        content_key: String::new(),
    };
    let record = TestRecord::unit(&outcome, 0.25);
    assert_eq!((record.kind, record.name.as_str(), record.status), (TestKind::Unit, "a.testB", Status::Fail));
    assert_eq!(record.reason.as_deref(), Some("expected 1\nbut got  2\n- 1\n+ 2\n\n(test defined at tests.nix:3:5)"));
}
