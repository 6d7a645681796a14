//! Reports of a test run: one [`TestRecord`] per test (option validation, unit test, check,
//! policy), written as JSON lines ([`write_json_line`], one object per test, for machines
//! that read a stream) or JUnit XML ([`write_junit`], one test suite per kind, for CI
//! dashboards), and a [`Progress`] display while the run goes on: one live status line on a
//! terminal, plain lines otherwise.
//!
//! Writers take records in the order given; callers sort them (by kind, host, name) so that
//! two runs print identical bytes.
//!
//! ```
//! use nxe_testrunner::report::{write_json_line, Status, TestKind, TestRecord};
//! let record = TestRecord::new("fleet.testNoFailedAssertion", TestKind::Unit, None, Status::Pass);
//! let mut out = Vec::new();
//! write_json_line(&mut out, &record).expect("written");
//! assert_eq!(
//!     String::from_utf8(out).expect("utf-8"),
//!     "{\"name\":\"fleet.testNoFailedAssertion\",\"kind\":\"unit\",\"host\":null,\"status\":\"pass\",\"reason\":null,\"seconds\":0.0}\n"
//! );
//! ```

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::io::{self, Write};
use std::time::{Duration, Instant};

/// The kind of a test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TestKind {
    /// Option validation of a host: assertions, warnings, types.
    Option,
    /// A nix-unit style unit test.
    Unit,
    /// A check derivation, which passes when it builds.
    Check,
    /// A built-in policy on a host.
    Policy,
}

impl TestKind {
    /// Every kind, in report order.
    pub const ALL: [TestKind; 4] = [TestKind::Option, TestKind::Unit, TestKind::Check, TestKind::Policy];

    /// The lowercase name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            TestKind::Option => "option",
            TestKind::Unit => "unit",
            TestKind::Check => "check",
            TestKind::Policy => "policy",
        }
    }
}

/// How a test ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It passed.
    Pass,
    /// It failed.
    Fail,
    /// It did not run (with the reason).
    Skip,
    /// It failed, then passed when run again.
    Flaky,
}

impl Status {
    /// The lowercase name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Skip => "skip",
            Status::Flaky => "flaky",
        }
    }
}

/// One test's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestRecord {
    /// The test's name within its kind (`hosts.web.testForcedWorkers`, `secrets`, `vm-test`).
    pub name: String,
    /// Its kind.
    pub kind: TestKind,
    /// The host it is about, if any.
    pub host: Option<String>,
    /// How it ended.
    pub status: Status,
    /// Why it failed, was skipped or is flaky; may span several lines.
    pub reason: Option<String>,
    /// Wall time in seconds.
    pub seconds: f64,
}

impl TestRecord {
    /// A record without reason, taking no time.
    pub fn new(name: impl Into<String>, kind: TestKind, host: Option<&str>, status: Status) -> TestRecord {
        TestRecord { name: name.into(), kind, host: host.map(str::to_string), status, reason: None, seconds: 0.0 }
    }

    /// The same record with a reason.
    pub fn with_reason(mut self, reason: impl Into<String>) -> TestRecord {
        self.reason = Some(reason.into());
        self
    }

    /// The same record with a duration.
    pub fn with_seconds(mut self, seconds: f64) -> TestRecord {
        self.seconds = seconds;
        self
    }

    /// `kind host name`, or `kind name` without a host: how progress lines show a test.
    pub fn label(&self) -> String {
        match &self.host {
            Some(host) => format!("{} {host} {}", self.kind.as_str(), self.name),
            None => format!("{} {}", self.kind.as_str(), self.name),
        }
    }
}

impl TestRecord {
    /// The record of a unit test: an error fails it too.
    pub fn unit(outcome: &crate::unit::UnitOutcome, seconds: f64) -> TestRecord {
        let status = if outcome.result.is_pass() { Status::Pass } else { Status::Fail };
        let reason = outcome.result.reason().map(|reason| match &outcome.position {
            Some(position) => format!("{reason}\n(test defined at {position})"),
            None => reason,
        });
        TestRecord { name: outcome.name.clone(), kind: TestKind::Unit, host: None, status, reason, seconds }
    }

    /// The record of a host's option validation, named `options`: it fails on any finding but
    /// a warning; the reason lists every finding, warnings included.
    pub fn options(host: &str, findings: &[crate::options::Finding], seconds: f64) -> TestRecord {
        let failed = findings.iter().any(|finding| finding.kind.is_failure());
        let reason =
            (!findings.is_empty()).then(|| findings.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"));
        TestRecord {
            name: "options".into(),
            kind: TestKind::Option,
            host: Some(host.to_string()),
            status: if failed { Status::Fail } else { Status::Pass },
            reason,
            seconds,
        }
    }

    /// The record of a policy on a host, named after the policy: a policy turned off, or
    /// one that could not judge a host that does not evaluate, is skipped.
    pub fn policy(
        host: &str,
        policy: crate::policy::PolicyKind,
        outcome: &crate::policy::Outcome,
        seconds: f64,
    ) -> TestRecord {
        use crate::policy::Outcome;
        let (status, reason) = match outcome {
            Outcome::Disabled => (Status::Skip, Some("turned off in nxe.toml".to_string())),
            Outcome::Error(error) => (Status::Skip, Some(format!("the host does not evaluate: {error}"))),
            Outcome::Checked(violations) if violations.is_empty() => (Status::Pass, None),
            Outcome::Checked(violations) => {
                (Status::Fail, Some(violations.iter().map(|v| v.message.as_str()).collect::<Vec<_>>().join("\n")))
            }
        };
        TestRecord {
            name: policy.as_str().into(),
            kind: TestKind::Policy,
            host: Some(host.to_string()),
            status,
            reason,
            seconds,
        }
    }
}

/// Writes one record as a line of JSON.
pub fn write_json_line(out: &mut impl Write, record: &TestRecord) -> io::Result<()> {
    serde_json::to_writer(&mut *out, record).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

/// Writes every record as JSON lines.
pub fn write_json_lines(out: &mut impl Write, records: &[TestRecord]) -> io::Result<()> {
    records.iter().try_for_each(|record| write_json_line(out, record))
}

/// Counts of records by status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// All records.
    pub tests: usize,
    /// Passed.
    pub passed: usize,
    /// Failed.
    pub failed: usize,
    /// Skipped.
    pub skipped: usize,
    /// Flaky.
    pub flaky: usize,
}

impl Counts {
    /// The counts of some records.
    pub fn of<'a>(records: impl IntoIterator<Item = &'a TestRecord>) -> Counts {
        let mut counts = Counts::default();
        for record in records {
            counts.add(record.status);
        }
        counts
    }

    fn add(&mut self, status: Status) {
        self.tests += 1;
        match status {
            Status::Pass => self.passed += 1,
            Status::Fail => self.failed += 1,
            Status::Skip => self.skipped += 1,
            Status::Flaky => self.flaky += 1,
        }
    }
}

/// Writes JUnit XML: one `<testsuite>` per kind that has records (in [`TestKind::ALL`]
/// order), a `<testcase>` per record with `classname` `kind.host` (or `kind`); a failure is
/// a `<failure>` whose `message` is the reason's first line and whose text is the whole
/// reason, a skipped test a `<skipped>`, a flaky test a passing test case with a
/// `<flakyFailure>` (the Maven Surefire convention CI servers read).
pub fn write_junit(out: &mut impl Write, records: &[TestRecord]) -> io::Result<()> {
    let mut xml = String::new();
    xml.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total = Counts::of(records);
    let seconds: f64 = records.iter().map(|r| r.seconds).sum();
    let _ = writeln!(
        xml,
        "<testsuites name=\"nxe\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{}\">",
        total.tests,
        total.failed,
        total.skipped,
        format_seconds(seconds)
    );
    for kind in TestKind::ALL {
        let suite: Vec<&TestRecord> = records.iter().filter(|r| r.kind == kind).collect();
        if suite.is_empty() {
            continue;
        }
        let counts = Counts::of(suite.iter().copied());
        let seconds: f64 = suite.iter().map(|r| r.seconds).sum();
        let _ = writeln!(
            xml,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{}\">",
            kind.as_str(),
            counts.tests,
            counts.failed,
            counts.skipped,
            format_seconds(seconds)
        );
        for record in suite {
            junit_case(&mut xml, record);
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    out.write_all(xml.as_bytes())
}

fn junit_case(xml: &mut String, record: &TestRecord) {
    let classname = match &record.host {
        Some(host) => format!("{}.{host}", record.kind.as_str()),
        None => record.kind.as_str().to_string(),
    };
    let _ = write!(
        xml,
        "    <testcase name=\"{}\" classname=\"{}\" time=\"{}\"",
        escape_attr(&record.name),
        escape_attr(&classname),
        format_seconds(record.seconds)
    );
    let reason = record.reason.as_deref().unwrap_or("");
    let message = reason.lines().next().unwrap_or("");
    let element = match record.status {
        Status::Pass => return xml.push_str("/>\n"),
        Status::Fail => "failure",
        Status::Skip => "skipped",
        Status::Flaky => "flakyFailure",
    };
    xml.push_str(">\n");
    if reason.is_empty() {
        let _ = writeln!(xml, "      <{element}/>");
    } else if record.status == Status::Skip {
        let _ = writeln!(xml, "      <{element} message=\"{}\"/>", escape_attr(reason));
    } else {
        let _ =
            writeln!(xml, "      <{element} message=\"{}\">{}</{element}>", escape_attr(message), escape_text(reason));
    }
    xml.push_str("    </testcase>\n");
}

/// Seconds with millisecond precision, as JUnit readers expect.
fn format_seconds(seconds: f64) -> String {
    format!("{:.3}", if seconds.is_finite() && seconds > 0.0 { seconds } else { 0.0 })
}

/// Whether XML 1.0 allows a character at all.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Escapes text content; characters XML cannot hold become U+FFFD.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c if xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

/// Escapes an attribute value; line breaks and tabs become character references so that
/// readers keep them.
pub fn escape_attr(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

/// What the progress display shows while tests run: on a terminal, one status line
/// rewritten in place (what runs, done/total, elapsed time) with failures printed above it
/// as they come; elsewhere, one plain line per finished test. A summary ends both.
pub struct Progress<W: Write> {
    out: W,
    live: bool,
    total: usize,
    counts: Counts,
    running: Vec<String>,
    clock: Box<dyn Fn() -> Duration + Send>,
    width: usize,
    /// Whether a status line is on screen (to be cleared before anything else is printed).
    drawn: bool,
}

impl Progress<io::Stderr> {
    /// Progress on standard error: live when it is a terminal.
    pub fn stderr(total: usize) -> Progress<io::Stderr> {
        use std::io::IsTerminal;
        let live = io::stderr().is_terminal();
        Progress::new(io::stderr(), total, live)
    }
}

impl<W: Write> Progress<W> {
    /// Progress of `total` tests on `out`; `live` for a terminal. Elapsed time counts from
    /// now.
    pub fn new(out: W, total: usize, live: bool) -> Progress<W> {
        let start = Instant::now();
        Progress {
            out,
            live,
            total,
            counts: Counts::default(),
            running: Vec::new(),
            clock: Box::new(move || start.elapsed()),
            width: 100,
            drawn: false,
        }
    }

    /// Replaces the clock giving the elapsed time (for output that must not vary).
    pub fn with_clock(mut self, clock: impl Fn() -> Duration + Send + 'static) -> Progress<W> {
        self.clock = Box::new(clock);
        self
    }

    /// Sets the width the status line is cut to (terminal columns).
    pub fn with_width(mut self, width: usize) -> Progress<W> {
        self.width = width.max(20);
        self
    }

    /// More tests were found to run.
    pub fn plan(&mut self, more: usize) {
        self.total += more;
    }

    /// The counts so far.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// A test started (shown on the live line only).
    pub fn started(&mut self, label: &str) -> io::Result<()> {
        if !self.running.iter().any(|running| running == label) {
            self.running.push(label.to_string());
        }
        if self.live {
            self.draw()?;
        }
        Ok(())
    }

    /// A test finished: counted, and shown (a failure or flaky test with its reason).
    pub fn finished(&mut self, record: &TestRecord) -> io::Result<()> {
        let label = record.label();
        if let Some(index) = self.running.iter().position(|running| *running == label) {
            self.running.remove(index);
        }
        self.counts.add(record.status);
        let line = self.result_line(record);
        if self.live {
            self.clear()?;
            if record.status != Status::Pass {
                self.out.write_all(line.as_bytes())?;
            }
            self.draw()?;
        } else {
            self.out.write_all(line.as_bytes())?;
        }
        self.out.flush()
    }

    /// Ends the display with the summary line.
    pub fn finish(&mut self) -> io::Result<()> {
        if self.live {
            self.clear()?;
        }
        let c = self.counts;
        let line = format!(
            "{} tests: {} passed, {} failed, {} skipped, {} flaky in {}\n",
            c.tests,
            c.passed,
            c.failed,
            c.skipped,
            c.flaky,
            elapsed((self.clock)())
        );
        self.out.write_all(line.as_bytes())?;
        self.out.flush()
    }

    /// `[done/total] status label (seconds)`, then the reason indented for anything but a
    /// pass.
    fn result_line(&self, record: &TestRecord) -> String {
        let width = self.total.to_string().len();
        let mut line = format!(
            "[{:>width$}/{}] {:<5} {} ({:.2}s)\n",
            self.counts.tests,
            self.total,
            record.status.as_str(),
            record.label(),
            record.seconds
        );
        if record.status != Status::Pass {
            for reason in record.reason.iter().flat_map(|r| r.lines()) {
                let _ = writeln!(line, "    {reason}");
            }
        }
        line
    }

    fn draw(&mut self) -> io::Result<()> {
        let mut line = format!("[{}/{} {}]", self.counts.tests, self.total, elapsed((self.clock)()));
        match self.running.as_slice() {
            [] => {}
            [only] => {
                let _ = write!(line, " {only}");
            }
            [first, rest @ ..] => {
                let _ = write!(line, " {first} (+{} more)", rest.len());
            }
        }
        let line: String = line.chars().take(self.width).collect();
        write!(self.out, "\r\x1b[2K{line}")?;
        self.drawn = true;
        self.out.flush()
    }

    fn clear(&mut self) -> io::Result<()> {
        if self.drawn {
            self.out.write_all(b"\r\x1b[2K")?;
            self.drawn = false;
        }
        Ok(())
    }

    /// The writer, once the display is over.
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// `m:ss` below an hour, `h:mm:ss` above.
fn elapsed(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds >= 3600 {
        format!("{}:{:02}:{:02}", seconds / 3600, seconds / 60 % 60, seconds % 60)
    } else {
        format!("{}:{:02}", seconds / 60, seconds % 60)
    }
}
