//! The cache: an SQLite database (normally `.nxe/cache.db` at the repository's top level)
//! holding, for every unit of evaluation (the listing of hosts, checks and tests; each host;
//! each host's checks; each unit test), the read sets it was evaluated with and what it gave,
//! the keys of tests that passed, and the store objects (derivations, texts, copied sources)
//! those evaluations made, so that their closures can be built or compared without
//! evaluating again.
//!
//! Every write is one transaction in write-ahead-log mode, so a process killed at any point
//! leaves the previous state intact, and several nxe processes may use one cache at once
//! (SQLite's locks, with a busy timeout). The database carries an application id and a
//! schema version, and every row a checksum: a foreign, outdated or corrupt cache is
//! reported in one line and rebuilt, never trusted. SQLite's integrity check reads the
//! whole database, so it runs only when the database's files are not as the last nxe
//! process left them (a stamp of their inodes, lengths and times of change beside them), or
//! when loading fails.

use crate::reads::ReadSet;
use crate::snapshots::{Shape, SnapshotEntry};
use crate::EngineError;
use rusqlite::config::DbConfig;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Identifies an nxe cache among SQLite databases (`PRAGMA application_id`).
const APPLICATION_ID: i32 = 0x6e78_6531;
/// The layout of the tables; a cache with another version is rebuilt.
const SCHEMA_VERSION: i32 = 6;
/// How many evaluations of one unit are kept (newest first).
const KEEP_PER_UNIT: i64 = 8;
/// How many snapshots of one host's value are kept (newest first).
const KEEP_PER_HOST: i64 = 4;

/// One remembered evaluation of a unit: what it read, and what it gave (JSON, as the
/// unit's kind defines). Both are parsed when first asked for: a run consults the newest
/// entry of most units and nothing older, and parsing every read set at load was a
/// millisecond of every run.
#[derive(Clone, Debug)]
pub struct Entry {
    reads: Arc<LazyReadSet>,
    result: LazyResult,
}

/// A read set as stored (its checksum checked), parsed when first asked for, or as made.
#[derive(Debug)]
struct LazyReadSet {
    body: String,
    parsed: OnceLock<Option<ReadSet>>,
}

/// A result as stored (its row's checksum checked), or as made.
#[derive(Clone, Debug)]
enum LazyResult {
    Stored(Arc<str>),
    Made(serde_json::Value),
}

impl Entry {
    /// An entry made in this process.
    pub fn new(reads: ReadSet, result: serde_json::Value) -> Entry {
        let parsed = OnceLock::from(Some(reads));
        Entry { reads: Arc::new(LazyReadSet { body: String::new(), parsed }), result: LazyResult::Made(result) }
    }

    /// What the evaluation read; `None` when its stored form does not parse.
    pub fn reads(&self) -> Option<&ReadSet> {
        let lazy = &*self.reads;
        lazy.parsed.get_or_init(|| serde_json::from_str(&lazy.body).ok()).as_ref()
    }

    /// Whether what the evaluation read still holds in `state` (see [`ReadSet::holds`]).
    pub fn holds(&self, state: &crate::reads::State) -> bool {
        self.reads().is_some_and(|reads| reads.holds(state))
    }

    /// What the evaluation gave; `None` when its stored form does not parse.
    pub fn result(&self) -> Option<serde_json::Value> {
        self.result_as()
    }

    /// What the evaluation gave, as a `T`; `None` when it is not one.
    pub fn result_as<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        match &self.result {
            LazyResult::Stored(text) => serde_json::from_str(text).ok(),
            LazyResult::Made(value) => serde_json::from_value(value.clone()).ok(),
        }
    }
}

/// A remembered snapshot of a host's value, its body (a [`Snap`] in JSON) not yet parsed.
#[derive(Clone, Debug)]
pub struct SnapshotRow {
    /// The host.
    pub host: String,
    /// What its evaluation read.
    pub reads: ReadSet,
    /// What it forced.
    pub shape: Shape,
    /// The snapshot.
    pub body: String,
}

/// Snapshot rows as stored, not yet checked.
pub struct StoredSnapshots {
    context: String,
    rows: Vec<StoredSnapshot>,
}

/// One snapshot row as stored.
struct StoredSnapshot {
    id: i64,
    host: String,
    reads: String,
    shape: String,
    body: String,
    digest: String,
}

impl StoredSnapshots {
    /// The rows whose checksum holds, with their read sets and shapes parsed (newest
    /// first), and the ids of the others, to be forgotten.
    pub fn check(self) -> (Vec<SnapshotRow>, Vec<i64>) {
        let mut out = Vec::new();
        let mut broken = Vec::new();
        for row in self.rows {
            let StoredSnapshot { id, host, reads, shape, body, digest } = row;
            let parsed = (digest == snapshot_digest(&host, &self.context, &reads, &shape, &body))
                .then(|| serde_json::from_str::<ReadSet>(&reads).ok().zip(serde_json::from_str::<Shape>(&shape).ok()))
                .flatten();
            match parsed {
                Some((reads, shape)) => out.push(SnapshotRow { host, reads, shape, body }),
                None => broken.push(id),
            }
        }
        (out, broken)
    }
}

/// Remembered evaluations by unit, newest first.
pub type Entries = BTreeMap<String, Vec<Entry>>;

/// An open cache.
pub struct Cache {
    connection: Connection,
    path: PathBuf,
    /// The database's files as they were when this process found them intact (see
    /// [`files_stamp`]).
    stamp: Option<String>,
}

/// The suffix of the file beside the database that holds the stamp of its files as the last
/// nxe process left them.
const STAMP_SUFFIX: &str = "-checked";

/// What tells the database's files (the database and its log) apart from any other state
/// of them: each one's inode, length and time of change. Any write changes it; a process
/// that finds the stamp its predecessor left needs no integrity check, since only nxe
/// wrote the files since the last check. `None` when a file cannot be looked at.
fn files_stamp(path: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let mut stamp = String::new();
    for suffix in ["", "-wal"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        match std::fs::metadata(&file) {
            Ok(meta) => {
                stamp.push_str(&format!("{} {} {}.{:09}\n", meta.ino(), meta.len(), meta.mtime(), meta.mtime_nsec()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => stamp.push_str("-\n"),
            Err(_) => return None,
        }
    }
    Some(stamp)
}

fn stamp_path(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}{STAMP_SUFFIX}", path.display()))
}

impl Drop for Cache {
    /// Leaves the stamp of the files as this process leaves them, so that the next one
    /// skips the integrity check (the files are only read or written by SQLite from here).
    fn drop(&mut self) {
        let target = stamp_path(&self.path);
        if FAILED.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).contains(&self.path) {
            let _ = std::fs::remove_file(&target);
            return;
        }
        let Some(stamp) = files_stamp(&self.path) else { return };
        if self.stamp.as_deref() == Some(stamp.as_str()) {
            return;
        }
        // Written in place: creating a file and renaming it over the stamp cost half a
        // millisecond of every run. A stamp half written (the process killed meanwhile), or
        // written by two processes at once, matches no files, so it only costs the next
        // process the check.
        if write_in_place(&target, stamp.as_bytes()).is_err() {
            let _ = std::fs::remove_file(&target);
        }
    }
}

/// Writes `bytes` as the whole content of `path`, over what it holds, creating it if needed.
fn write_in_place(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let file = std::fs::OpenOptions::new().write(true).create(true).truncate(false).open(path)?;
    file.write_all_at(bytes, 0)?;
    if file.metadata()?.len() != bytes.len() as u64 {
        file.set_len(bytes.len() as u64)?;
    }
    Ok(())
}

/// How many evaluations that made store objects may be dropped before the objects no kept
/// evaluation made are looked for and forgotten: the sweep reads every kept evaluation's
/// list, so it runs once in a while rather than at every write.
const SWEEP_AFTER: i64 = 16;

/// Stores the objects evaluation `id` made, and their list under its id. An object stored
/// as it is now is not written again: its body, often kilobytes (a derivation's path names
/// its text; a source's body, where it is copied from, can change). The list is one row,
/// appended: keeping it costs no write elsewhere in the database.
fn store_objects(connection: &Connection, path: &Path, id: i64, made: &StoreObjects) -> Result<(), EngineError> {
    // One statement of each kind for every object (parsing them again each time cost a fifth
    // of the write).
    let mut insert = connection
        .prepare_cached(
            "INSERT INTO objects (path, body, digest) VALUES (?1, ?2, ?3)
             ON CONFLICT (path) DO UPDATE SET body = excluded.body, digest = excluded.digest
             WHERE digest != excluded.digest",
        )
        .map_err(|e| sql_error(path, e))?;
    for (store_path, body) in made.bodies() {
        insert
            .execute(params![store_path, body, row_digest(&store_path, "object", &body, "")])
            .map_err(|e| sql_error(path, e))?;
    }
    let list: Vec<&str> = made.paths().map(String::as_str).collect();
    connection
        .prepare_cached("INSERT OR IGNORE INTO eval_objects (eval, paths) VALUES (?1, ?2)")
        .and_then(|mut insert| insert.execute(params![id, list.join("\n")]))
        .map_err(|e| sql_error(path, e))?;
    Ok(())
}

/// Forgets the lists of evaluations no longer kept, then every object no kept evaluation's
/// list names. An object another context still needed would only cost that context an
/// evaluation: a missing object is never a wrong answer.
fn sweep_objects(connection: &Connection, path: &Path) -> Result<(), EngineError> {
    connection
        .execute("DELETE FROM eval_objects WHERE eval NOT IN (SELECT id FROM evals)", [])
        .map_err(|e| sql_error(path, e))?;
    let mut live: HashSet<String> = HashSet::new();
    {
        let mut lists = connection.prepare("SELECT paths FROM eval_objects").map_err(|e| sql_error(path, e))?;
        let rows = lists.query_map([], |row| row.get::<_, String>(0)).map_err(|e| sql_error(path, e))?;
        for list in rows {
            live.extend(list.map_err(|e| sql_error(path, e))?.lines().map(str::to_string));
        }
    }
    let stored: Vec<String> = {
        let mut select = connection.prepare("SELECT path FROM objects").map_err(|e| sql_error(path, e))?;
        let rows = select.query_map([], |row| row.get::<_, String>(0)).map_err(|e| sql_error(path, e))?;
        rows.collect::<Result<_, _>>().map_err(|e| sql_error(path, e))?
    };
    let mut delete = connection.prepare("DELETE FROM objects WHERE path = ?1").map_err(|e| sql_error(path, e))?;
    for dead in stored.iter().filter(|stored| !live.contains(*stored)) {
        delete.execute(params![dead]).map_err(|e| sql_error(path, e))?;
    }
    Ok(())
}

/// Caches in which a query failed in this process: they are left without a stamp, so the
/// next process checks them (see [`files_stamp`]).
static FAILED: std::sync::Mutex<BTreeSet<PathBuf>> = std::sync::Mutex::new(BTreeSet::new());

fn sql_error(path: &Path, error: rusqlite::Error) -> EngineError {
    FAILED.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(path.to_path_buf());
    EngineError::Cache(format!("{}: {error}", path.display()))
}

impl Cache {
    /// Opens (or creates) the cache at `path`. A cache that cannot be trusted is removed and
    /// created anew; the returned notes say why, in one line each.
    pub fn open(path: &Path) -> Result<(Cache, Vec<String>), EngineError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| EngineError::Io(dir.display().to_string(), e))?;
            ignore_directory(dir);
        }
        let _lock = FileLock::exclusive(&path.with_extension("lock"))?;
        let mut notes = Vec::new();
        match Cache::open_checked(path) {
            Ok(cache) => return Ok((cache, notes)),
            Err(reason) => {
                notes.push(format!("warning: the cache {} {reason}; rebuilding it", path.display()));
                Cache::remove(path)?;
            }
        }
        let cache = Cache::open_checked(path)
            .map_err(|reason| EngineError::Cache(format!("{}: cannot create the cache: {reason}", path.display())))?;
        Ok((cache, notes))
    }

    /// Removes the database at `path` with its log and the files beside it; none need be
    /// there.
    pub fn remove(path: &Path) -> Result<(), EngineError> {
        for suffix in ["", "-wal", "-shm", "-journal", STAMP_SUFFIX] {
            let file = PathBuf::from(format!("{}{suffix}", path.display()));
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(EngineError::Io(file.display().to_string(), e)),
            }
        }
        Ok(())
    }

    /// Opens the cache at `path` (see [`Cache::open`]) and loads the evaluations of
    /// `context` (see [`Cache::load`]). When loading fails, the integrity check that opening
    /// skipped (see [`files_stamp`]) runs after all, and a damaged cache is rebuilt.
    pub fn open_and_load(path: &Path, context: &str) -> Result<(Cache, Entries, Vec<String>), EngineError> {
        let (cache, mut notes) = Cache::open(path)?;
        match cache.load(context, &mut notes) {
            Ok(entries) => Ok((cache, entries, notes)),
            Err(_) => {
                drop(cache);
                let _ = std::fs::remove_file(stamp_path(path));
                let (cache, more) = Cache::open(path)?;
                notes.extend(more);
                let entries = cache.load(context, &mut notes)?;
                Ok((cache, entries, notes))
            }
        }
    }

    /// Opens the database and checks that it is an intact nxe cache of this version
    /// (initialising an empty one); the error says what is wrong.
    fn open_checked(path: &Path) -> Result<Cache, String> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = Connection::open_with_flags(path, flags).map_err(|e| format!("cannot be opened ({e})"))?;
        connection.busy_timeout(Duration::from_secs(30)).map_err(|e| format!("cannot be opened ({e})"))?;
        let query = |sql: &str| -> Result<i64, String> {
            connection.query_row(sql, [], |row| row.get::<_, i64>(0)).map_err(|e| format!("is not a database ({e})"))
        };
        let application = query("PRAGMA application_id")?;
        let version = query("PRAGMA user_version")?;
        let tables = query("SELECT count(*) FROM sqlite_master")?;
        if tables == 0 && application == 0 {
            connection
                .execute_batch(&format!(
                    "PRAGMA journal_mode = WAL;
                     BEGIN IMMEDIATE;
                     CREATE TABLE IF NOT EXISTS evals (
                         id INTEGER PRIMARY KEY,
                         unit TEXT NOT NULL,
                         context TEXT NOT NULL,
                         reads TEXT NOT NULL,
                         result TEXT NOT NULL,
                         digest TEXT NOT NULL,
                         UNIQUE (unit, context, digest)
                     );
                     CREATE INDEX IF NOT EXISTS evals_by_context ON evals (context, unit, id);
                     CREATE TABLE IF NOT EXISTS readsets (
                         digest TEXT PRIMARY KEY,
                         body TEXT NOT NULL
                     );
                     CREATE TABLE IF NOT EXISTS objects (
                         path TEXT PRIMARY KEY,
                         body TEXT NOT NULL,
                         digest TEXT NOT NULL
                     );
                     CREATE TABLE IF NOT EXISTS eval_objects (
                         eval INTEGER PRIMARY KEY,
                         paths TEXT NOT NULL
                     );
                     CREATE INDEX IF NOT EXISTS eval_objects_keys ON eval_objects (eval);
                     CREATE TABLE IF NOT EXISTS passes (
                         key TEXT PRIMARY KEY,
                         kind TEXT NOT NULL,
                         name TEXT NOT NULL,
                         digest TEXT NOT NULL
                     );
                     CREATE TABLE IF NOT EXISTS snapshots (
                         id INTEGER PRIMARY KEY,
                         context TEXT NOT NULL,
                         host TEXT NOT NULL,
                         reads TEXT NOT NULL,
                         shape TEXT NOT NULL,
                         body TEXT NOT NULL,
                         digest TEXT NOT NULL
                     );
                     CREATE INDEX IF NOT EXISTS snapshots_by_context ON snapshots (context, host, id);
                     PRAGMA application_id = {APPLICATION_ID};
                     PRAGMA user_version = {SCHEMA_VERSION};
                     COMMIT;"
                ))
                .map_err(|e| format!("cannot be initialised ({e})"))?;
        } else if application != i64::from(APPLICATION_ID) {
            return Err("is not an nxe cache".to_string());
        } else if version != i64::from(SCHEMA_VERSION) {
            return Err(format!("has format version {version}, this nxe uses {SCHEMA_VERSION}"));
        }
        // The check reads the whole database: it is skipped when the files are as the last
        // nxe process left them.
        let stamp = files_stamp(path);
        let left = std::fs::read_to_string(stamp_path(path)).ok();
        if stamp.is_none() || stamp != left {
            let check: String = connection
                .query_row("PRAGMA quick_check", [], |row| row.get(0))
                .map_err(|e| format!("is corrupt ({e})"))?;
            if check != "ok" {
                return Err(format!("is corrupt ({check})"));
            }
            FAILED.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(path);
        }
        connection
            .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            .map_err(|e| format!("cannot be opened ({e})"))?;
        // Closing leaves the log to the next commit's automatic checkpoint (at 1000 pages)
        // instead of copying it back and syncing at every exit; the log is part of the
        // database either way, and SQLite reads through it.
        connection
            .set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
            .map_err(|e| format!("cannot be opened ({e})"))?;
        Ok(Cache { connection, path: path.to_path_buf(), stamp: left })
    }

    /// Where the cache is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every remembered evaluation made in `context`, by unit, newest first. Rows whose
    /// checksum does not match are dropped (and reported in `notes`).
    pub fn load(&self, context: &str, notes: &mut Vec<String>) -> Result<BTreeMap<String, Vec<Entry>>, EngineError> {
        let mut statement = self
            .connection
            .prepare_cached("SELECT id, unit, reads, result, digest FROM evals WHERE context = ?1 ORDER BY id DESC")
            .map_err(|e| sql_error(&self.path, e))?;
        let rows = statement
            .query_map(params![context], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                ))
            })
            .map_err(|e| sql_error(&self.path, e))?;
        let rows = rows.collect::<Result<Vec<_>, _>>().map_err(|e| sql_error(&self.path, e))?;
        drop(statement);
        let mut entries: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
        let mut broken = Vec::new();
        // Units evaluated together, and a host's unit and its validations, have the same
        // read set: it is stored, read, checked and parsed once.
        let mut read_sets: HashMap<String, Option<Arc<LazyReadSet>>> = HashMap::new();
        for (id, unit, reads, result, digest) in rows {
            let checked = (digest == row_digest(&unit, context, &reads, &result))
                .then(|| {
                    let read_set = match read_sets.get(&reads) {
                        Some(read_set) => read_set.clone(),
                        None => {
                            let read_set = self
                                .read_set_body(&reads)?
                                .map(|body| Arc::new(LazyReadSet { body, parsed: OnceLock::new() }));
                            read_sets.insert(reads, read_set.clone());
                            read_set
                        }
                    };
                    Ok::<_, EngineError>(read_set)
                })
                .transpose()?
                .flatten();
            match checked {
                Some(reads) => entries
                    .entry(unit)
                    .or_default()
                    .push(Entry { reads, result: LazyResult::Stored(Arc::from(result)) }),
                None => broken.push(id),
            }
        }
        if !broken.is_empty() {
            notes.push(format!(
                "warning: the cache {} had {} damaged entries; they were dropped",
                self.path.display(),
                broken.len()
            ));
            for id in broken {
                self.connection
                    .execute("DELETE FROM evals WHERE id = ?1", params![id])
                    .map_err(|e| sql_error(&self.path, e))?;
            }
        }
        Ok(entries)
    }

    /// The read set stored under `digest`, as stored; `None` when there is none or it is
    /// damaged.
    fn read_set_body(&self, digest: &str) -> Result<Option<String>, EngineError> {
        let body = self
            .connection
            .prepare_cached("SELECT body FROM readsets WHERE digest = ?1")
            .and_then(|mut statement| statement.query_row(params![digest], |row| row.get::<_, String>(0)).optional())
            .map_err(|e| sql_error(&self.path, e))?;
        Ok(body.filter(|body| read_set_digest(body) == digest))
    }

    /// Remembers evaluations (unit, reads, result), in one transaction.
    pub fn store(
        &mut self,
        context: &str,
        entries: &[(String, ReadSet, serde_json::Value)],
    ) -> Result<(), EngineError> {
        self.store_with_objects(context, entries, &[])
    }

    /// Remembers evaluations (unit, reads, result) and the store objects each made (by
    /// position; an entry past the end of `objects` made none), in one transaction. Objects
    /// no kept evaluation made are forgotten, every [`SWEEP_AFTER`] evaluations dropped.
    pub fn store_with_objects(
        &mut self,
        context: &str,
        entries: &[(String, ReadSet, serde_json::Value)],
        objects: &[StoreObjects],
    ) -> Result<(), EngineError> {
        if entries.is_empty() {
            return Ok(());
        }
        let path = self.path.clone();
        let transaction = self.connection.savepoint().map_err(|e| sql_error(&path, e))?;
        // Entries of units evaluated together share their read set.
        let mut stored_sets: HashMap<*const (crate::reads::ReadKey, String), String> = HashMap::new();
        for (index, (unit, read_set, result)) in entries.iter().enumerate() {
            let reads = match stored_sets.get(&read_set.0.as_ptr()) {
                Some(reads) => reads.clone(),
                None => {
                    let body = serde_json::to_string(read_set).map_err(|e| EngineError::Internal(e.to_string()))?;
                    let reads = read_set_digest(&body);
                    transaction
                        .prepare_cached("INSERT OR IGNORE INTO readsets (digest, body) VALUES (?1, ?2)")
                        .and_then(|mut insert| insert.execute(params![reads, body]))
                        .map_err(|e| sql_error(&path, e))?;
                    stored_sets.insert(read_set.0.as_ptr(), reads.clone());
                    reads
                }
            };
            let result = serde_json::to_string(result).map_err(|e| EngineError::Internal(e.to_string()))?;
            let digest = row_digest(unit, context, &reads, &result);
            let inserted = transaction
                .prepare_cached(
                    "INSERT OR IGNORE INTO evals (unit, context, reads, result, digest) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .and_then(|mut insert| insert.execute(params![unit, context, reads, result, digest]))
                .map_err(|e| sql_error(&path, e))?;
            if let Some(made) = objects.get(index).filter(|made| !made.is_empty()) {
                // The same evaluation remembered before keeps its row, and its objects' list.
                let id: i64 = if inserted == 1 {
                    transaction.last_insert_rowid()
                } else {
                    transaction
                        .prepare_cached("SELECT id FROM evals WHERE unit = ?1 AND context = ?2 AND digest = ?3")
                        .and_then(|mut select| select.query_row(params![unit, context, digest], |row| row.get(0)))
                        .map_err(|e| sql_error(&path, e))?
                };
                store_objects(&transaction, &path, id, made)?;
            }
            transaction
                .prepare_cached(
                    "DELETE FROM evals WHERE unit = ?1 AND context = ?2 AND id NOT IN
                     (SELECT id FROM evals WHERE unit = ?1 AND context = ?2 ORDER BY id DESC LIMIT ?3)",
                )
                .and_then(|mut delete| delete.execute(params![unit, context, KEEP_PER_UNIT]))
                .map_err(|e| sql_error(&path, e))?;
        }
        transaction
            .execute("DELETE FROM readsets WHERE digest NOT IN (SELECT reads FROM evals)", [])
            .map_err(|e| sql_error(&path, e))?;
        // Counting the lists of dropped evaluations reads only their index, a few pages, not
        // the lists (a page or more each).
        let dropped: i64 = transaction
            .query_row("SELECT count(*) FROM eval_objects WHERE eval NOT IN (SELECT id FROM evals)", [], |row| {
                row.get(0)
            })
            .map_err(|e| sql_error(&path, e))?;
        if dropped >= SWEEP_AFTER {
            sweep_objects(&transaction, &path)?;
        }
        transaction.commit().map_err(|e| sql_error(&path, e))
    }

    /// The store objects the derivations `roots` need (their closure: derivations, and the
    /// texts and sources they use that an evaluation added); `None` when one of the
    /// derivations is not remembered (or its row is damaged).
    pub fn closure(&self, roots: &[String]) -> Result<Option<StoreObjects>, EngineError> {
        let mut statement = self
            .connection
            .prepare_cached("SELECT body, digest FROM objects WHERE path = ?1")
            .map_err(|e| sql_error(&self.path, e))?;
        let load = |store_path: &str| -> Result<Option<StoredObject>, EngineError> {
            let row = statement
                .query_row(params![store_path], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))
                .optional()
                .map_err(|e| sql_error(&self.path, e))?;
            Ok(row
                .filter(|(body, digest)| *digest == row_digest(store_path, "object", body, ""))
                .and_then(|(body, _)| StoredObject::parse(&body)))
        };
        closure_of(roots, load)
    }

    /// Which of `keys` have a recorded pass.
    pub fn passed(&self, keys: &[String]) -> Result<BTreeSet<String>, EngineError> {
        let mut statement = self
            .connection
            .prepare_cached("SELECT kind, name, digest FROM passes WHERE key = ?1")
            .map_err(|e| sql_error(&self.path, e))?;
        let mut passed = BTreeSet::new();
        for key in keys {
            let row = statement
                .query_row(params![key], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?))
                })
                .optional()
                .map_err(|e| sql_error(&self.path, e))?;
            if let Some((kind, name, digest)) = row {
                if digest == pass_digest(key, &kind, &name) {
                    passed.insert(key.clone());
                }
            }
        }
        Ok(passed)
    }

    /// Opens a transaction that the writes until [`Cache::finish`] join: each otherwise a
    /// transaction of its own, they are committed together, or none of them. Each
    /// transaction costs a commit and a scan of what it may have left unused.
    pub fn begin(&mut self) -> Result<(), EngineError> {
        self.connection.execute_batch("BEGIN IMMEDIATE").map_err(|e| sql_error(&self.path, e))
    }

    /// Ends the transaction [`Cache::begin`] opened: commits it when `result` is a success,
    /// rolls it back otherwise; then `result`, or the commit's failure.
    pub fn finish<T>(&mut self, result: Result<T, EngineError>) -> Result<T, EngineError> {
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        match self.connection.execute_batch(end) {
            Ok(()) => result,
            Err(error) => {
                let _ = self.connection.execute_batch("ROLLBACK");
                result.and(Err(sql_error(&self.path, error)))
            }
        }
    }

    /// Records passes (key, kind, name), in one transaction.
    pub fn record_passes(&mut self, passes: &[(String, String, String)]) -> Result<(), EngineError> {
        if passes.is_empty() {
            return Ok(());
        }
        let path = self.path.clone();
        let transaction = self.connection.savepoint().map_err(|e| sql_error(&path, e))?;
        for (key, kind, name) in passes {
            transaction
                .execute(
                    "INSERT OR REPLACE INTO passes (key, kind, name, digest) VALUES (?1, ?2, ?3, ?4)",
                    params![key, kind, name, pass_digest(key, kind, name)],
                )
                .map_err(|e| sql_error(&path, e))?;
        }
        transaction.commit().map_err(|e| sql_error(&path, e))
    }

    /// Forgets recorded passes (`--rerun`).
    pub fn forget_passes(&mut self, keys: &[String]) -> Result<(), EngineError> {
        let path = self.path.clone();
        let transaction = self.connection.savepoint().map_err(|e| sql_error(&path, e))?;
        for key in keys {
            transaction.execute("DELETE FROM passes WHERE key = ?1", params![key]).map_err(|e| sql_error(&path, e))?;
        }
        transaction.commit().map_err(|e| sql_error(&path, e))
    }

    /// The snapshots of hosts' values made in `context` (see [`crate::snapshots`]), newest
    /// first, their bodies not yet parsed. Rows whose checksum does not match are dropped.
    pub fn load_snapshots(&self, context: &str) -> Result<Vec<SnapshotRow>, EngineError> {
        let (rows, broken) = self.stored_snapshots(context)?.check();
        self.forget_snapshots(&broken)?;
        Ok(rows)
    }

    /// The snapshot rows of `context` as stored, newest first, to be checked (see
    /// [`StoredSnapshots::check`]) without holding the cache.
    pub fn stored_snapshots(&self, context: &str) -> Result<StoredSnapshots, EngineError> {
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT id, host, reads, shape, body, digest FROM snapshots WHERE context = ?1 ORDER BY id DESC",
            )
            .map_err(|e| sql_error(&self.path, e))?;
        let rows = statement
            .query_map(params![context], |row| {
                Ok(StoredSnapshot {
                    id: row.get(0)?,
                    host: row.get(1)?,
                    reads: row.get(2)?,
                    shape: row.get(3)?,
                    body: row.get(4)?,
                    digest: row.get(5)?,
                })
            })
            .map_err(|e| sql_error(&self.path, e))?;
        let rows = rows.collect::<Result<Vec<_>, _>>().map_err(|e| sql_error(&self.path, e))?;
        Ok(StoredSnapshots { context: context.to_string(), rows })
    }

    /// Deletes snapshot rows (those [`StoredSnapshots::check`] found broken).
    pub fn forget_snapshots(&self, ids: &[i64]) -> Result<(), EngineError> {
        for id in ids {
            self.connection
                .execute("DELETE FROM snapshots WHERE id = ?1", params![id])
                .map_err(|e| sql_error(&self.path, e))?;
        }
        Ok(())
    }

    /// Remembers snapshots of hosts' values (host, reads, shape, snapshot), in one
    /// transaction, keeping the newest few of each host.
    pub fn store_snapshots(&mut self, context: &str, rows: &[SnapshotEntry]) -> Result<(), EngineError> {
        if rows.is_empty() {
            return Ok(());
        }
        let path = self.path.clone();
        let transaction = self.connection.savepoint().map_err(|e| sql_error(&path, e))?;
        for (host, reads, shape, snap) in rows {
            let (reads, shape, body) = (to_json(reads)?, to_json(shape)?, to_json(snap)?);
            let digest = snapshot_digest(host, context, &reads, &shape, &body);
            transaction
                .execute(
                    "INSERT INTO snapshots (context, host, reads, shape, body, digest) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![context, host, reads, shape, body, digest],
                )
                .map_err(|e| sql_error(&path, e))?;
            transaction
                .execute(
                    "DELETE FROM snapshots WHERE host = ?1 AND context = ?2 AND id NOT IN
                     (SELECT id FROM snapshots WHERE host = ?1 AND context = ?2 ORDER BY id DESC LIMIT ?3)",
                    params![host, context, KEEP_PER_HOST],
                )
                .map_err(|e| sql_error(&path, e))?;
        }
        transaction.commit().map_err(|e| sql_error(&path, e))
    }

    /// A full check: SQLite's integrity check and every row's checksum. The problems found.
    pub fn verify(&self) -> Result<Vec<String>, EngineError> {
        let mut problems = Vec::new();
        let mut statement = self.connection.prepare("PRAGMA integrity_check").map_err(|e| sql_error(&self.path, e))?;
        let lines = statement.query_map([], |row| row.get::<_, String>(0)).map_err(|e| sql_error(&self.path, e))?;
        for line in lines {
            let line = line.map_err(|e| sql_error(&self.path, e))?;
            if line != "ok" {
                problems.push(line);
            }
        }
        let mut check = |sql: &str, wrong: &dyn Fn(&[String]) -> Option<String>| -> Result<(), EngineError> {
            let mut statement = self.connection.prepare(sql).map_err(|e| sql_error(&self.path, e))?;
            let columns = statement.column_count();
            let rows = statement
                .query_map([], |row| (0..columns).map(|i| row.get::<_, String>(i)).collect::<Result<Vec<_>, _>>())
                .map_err(|e| sql_error(&self.path, e))?;
            for row in rows {
                problems.extend(wrong(&row.map_err(|e| sql_error(&self.path, e))?));
            }
            Ok(())
        };
        check("SELECT unit, context, reads, result, digest FROM evals", &|r| {
            (r[4] != row_digest(&r[0], &r[1], &r[2], &r[3])).then(|| format!("entry of {} has a wrong checksum", r[0]))
        })?;
        check("SELECT unit FROM evals WHERE reads NOT IN (SELECT digest FROM readsets)", &|r| {
            Some(format!("entry of {} has lost its read set", r[0]))
        })?;
        check("SELECT digest, body FROM readsets", &|r| {
            (r[0] != read_set_digest(&r[1])).then(|| format!("read set {} has a wrong checksum", r[0]))
        })?;
        check("SELECT host, context, reads, shape, body, digest FROM snapshots", &|r| {
            (r[5] != snapshot_digest(&r[0], &r[1], &r[2], &r[3], &r[4]))
                .then(|| format!("snapshot of {} has a wrong checksum", r[0]))
        })?;
        check("SELECT path, body, digest FROM objects", &|r| {
            (r[2] != row_digest(&r[0], "object", &r[1], "") || StoredObject::parse(&r[1]).is_none())
                .then(|| format!("store object {} has a wrong checksum", r[0]))
        })?;
        Ok(problems)
    }

    /// How many evaluations, passes, store objects and snapshots of hosts the cache holds.
    pub fn counts(&self) -> Result<(u64, u64, u64, u64), EngineError> {
        let count = |sql: &str| {
            self.connection.query_row(sql, [], |row| row.get::<_, i64>(0)).map_err(|e| sql_error(&self.path, e))
        };
        Ok((
            count("SELECT count(*) FROM evals")? as u64,
            count("SELECT count(*) FROM passes")? as u64,
            count("SELECT count(*) FROM objects")? as u64,
            count("SELECT count(*) FROM snapshots")? as u64,
        ))
    }
}

/// Store objects evaluations made: derivations, and other paths they added.
#[derive(Clone, Debug, Default)]
pub struct StoreObjects {
    /// Derivations by `.drv` path.
    pub derivations: BTreeMap<String, nxe_store::Derivation>,
    /// Other objects by store path.
    pub paths: BTreeMap<String, nxe_evaluator::AddedPath>,
}

impl StoreObjects {
    /// The objects the derivations `roots` need, taken from these; `None` when a derivation
    /// is missing.
    pub fn closure(&self, roots: &[String]) -> Option<StoreObjects> {
        let found = closure_of(roots, |path| {
            let object = match self.derivations.get(path) {
                Some(drv) => Some(StoredObject::Derivation(drv.clone())),
                None => self.paths.get(path).cloned().map(StoredObject::Added),
            };
            Ok::<_, std::convert::Infallible>(object)
        });
        found.unwrap_or_else(|never| match never {})
    }

    /// Whether there is no object.
    pub fn is_empty(&self) -> bool {
        self.derivations.is_empty() && self.paths.is_empty()
    }

    /// Every object's store path.
    fn paths(&self) -> impl Iterator<Item = &String> {
        self.derivations.keys().chain(self.paths.keys())
    }

    /// Every object as it is stored: (store path, body).
    fn bodies(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> =
            self.derivations.iter().map(|(path, drv)| (path.clone(), format!("drv {}", drv.to_aterm()))).collect();
        for (path, added) in &self.paths {
            let body = match added {
                nxe_evaluator::AddedPath::Text { contents, references } => {
                    serde_json::json!({ "text": contents, "references": references })
                }
                nxe_evaluator::AddedPath::Source { source, recursive, excluded } => {
                    serde_json::json!({ "source": source, "recursive": recursive, "excluded": excluded })
                }
                nxe_evaluator::AddedPath::Fetched { url } => serde_json::json!({ "fetched": url }),
            };
            out.push((path.clone(), format!("obj {body}")));
        }
        out
    }
}

/// The closure of the derivations `roots`, each object taken from `load`: the derivations,
/// their inputs' derivations, and the other objects they use (texts' references included)
/// that `load` has. `None` when a derivation is missing; other objects may be in a store
/// already.
fn closure_of<E>(
    roots: &[String],
    mut load: impl FnMut(&str) -> Result<Option<StoredObject>, E>,
) -> Result<Option<StoreObjects>, E> {
    let mut objects = StoreObjects::default();
    let mut queue: Vec<String> = roots.to_vec();
    while let Some(path) = queue.pop() {
        if objects.paths.contains_key(&path) || objects.derivations.contains_key(&path) {
            continue;
        }
        match load(&path)? {
            Some(StoredObject::Derivation(drv)) => {
                queue.extend(drv.input_srcs.iter().cloned());
                queue.extend(drv.input_drvs.keys().cloned());
                objects.derivations.insert(path, drv);
            }
            Some(StoredObject::Added(added)) => {
                if let nxe_evaluator::AddedPath::Text { references, .. } = &added {
                    queue.extend(references.iter().cloned());
                }
                objects.paths.insert(path, added);
            }
            None if path.ends_with(".drv") => return Ok(None),
            None => {}
        }
    }
    Ok(Some(objects))
}

/// One remembered store object.
enum StoredObject {
    Derivation(nxe_store::Derivation),
    Added(nxe_evaluator::AddedPath),
}

impl StoredObject {
    fn parse(body: &str) -> Option<StoredObject> {
        if let Some(aterm) = body.strip_prefix("drv ") {
            return nxe_store::Derivation::parse(aterm).ok().map(StoredObject::Derivation);
        }
        let value: serde_json::Value = serde_json::from_str(body.strip_prefix("obj ")?).ok()?;
        let strings = |key: &str| -> Option<BTreeSet<String>> { serde_json::from_value(value.get(key)?.clone()).ok() };
        let added = if let Some(text) = value.get("text") {
            nxe_evaluator::AddedPath::Text { contents: text.as_str()?.to_string(), references: strings("references")? }
        } else if let Some(source) = value.get("source") {
            nxe_evaluator::AddedPath::Source {
                source: source.as_str()?.to_string(),
                recursive: value.get("recursive")?.as_bool()?,
                excluded: strings("excluded")?,
            }
        } else {
            nxe_evaluator::AddedPath::Fetched { url: value.get("fetched")?.as_str()?.to_string() }
        };
        Some(StoredObject::Added(added))
    }
}

fn row_digest(unit: &str, context: &str, reads: &str, result: &str) -> String {
    let mut hasher = blake3::Hasher::new();
    for part in [unit, context, reads, result] {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.finalize().to_hex()[..32].to_string()
}

/// The name of a read set's JSON text among the stored read sets, and its checksum.
fn read_set_digest(body: &str) -> String {
    blake3::hash(body.as_bytes()).to_hex()[..32].to_string()
}

fn to_json(value: &impl serde::Serialize) -> Result<String, EngineError> {
    serde_json::to_string(value).map_err(|e| EngineError::Internal(e.to_string()))
}

fn snapshot_digest(host: &str, context: &str, reads: &str, shape: &str, body: &str) -> String {
    row_digest(host, context, reads, &row_digest(shape, body, "snapshot", ""))
}

fn pass_digest(key: &str, kind: &str, name: &str) -> String {
    row_digest(key, kind, name, "pass")
}

/// Puts a `.gitignore` with `*` in the cache's directory when it has none, so the cache
/// never shows up as an untracked file.
fn ignore_directory(dir: &Path) {
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        let temporary = dir.join(format!(".gitignore.{}", std::process::id()));
        if std::fs::write(&temporary, "*\n").is_ok() {
            let _ = std::fs::rename(&temporary, &ignore);
        }
    }
}

/// An exclusive advisory lock on a file, released when dropped.
struct FileLock {
    file: std::fs::File,
}

impl FileLock {
    fn exclusive(path: &Path) -> Result<FileLock, EngineError> {
        use std::os::unix::io::AsRawFd;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| EngineError::Io(path.display().to_string(), e))?;
        // SAFETY: flock on a file descriptor this function owns.
        let status = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if status != 0 {
            return Err(EngineError::Io(path.display().to_string(), std::io::Error::last_os_error()));
        }
        Ok(FileLock { file })
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        use std::os::unix::io::AsRawFd;
        // SAFETY: unlocking the descriptor locked in `exclusive`.
        unsafe {
            libc::flock(self.file.as_raw_fd(), libc::LOCK_UN);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reads::ReadKey;
    use crate::snapshots::Snap;

    fn reads() -> ReadSet {
        ReadSet(vec![(ReadKey::File("a.nix".into()), "00".into())].into())
    }

    #[test]
    fn entries_round_trip_newest_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(".nxe/cache.db");
        let (mut cache, notes) = Cache::open(&path).expect("open");
        assert!(notes.is_empty(), "{notes:?}");
        cache.store("c", &[("host:a".into(), reads(), serde_json::json!({"n": 1}))]).expect("store");
        cache.store("c", &[("host:a".into(), ReadSet::default(), serde_json::json!({"n": 2}))]).expect("store");
        let mut notes = Vec::new();
        let loaded = cache.load("c", &mut notes).expect("load");
        let results: Vec<_> = loaded["host:a"].iter().map(|e| e.result().and_then(|r| r["n"].as_i64())).collect();
        assert_eq!(results, vec![Some(2), Some(1)]);
        assert!(cache.load("other", &mut notes).expect("load").is_empty());
        assert!(dir.path().join(".nxe/.gitignore").exists());
    }

    /// Two derivations (`b` uses `a` and a text), and the text.
    fn objects() -> StoreObjects {
        let mut objects = StoreObjects::default();
        let text = "/nix/store/00000000000000000000000000000000-script".to_string();
        let a = nxe_store::Derivation {
            builder: "/bin/sh".into(),
            platform: "x86_64-linux".into(),
            env: [("name".to_string(), "a".to_string())].into(),
            ..Default::default()
        };
        let mut b = a.clone();
        b.env.insert("name".into(), "b".into());
        b.input_drvs.insert("/nix/store/aaaa-a.drv".into(), ["out".to_string()].into());
        b.input_srcs.insert(text.clone());
        objects.derivations.insert("/nix/store/aaaa-a.drv".into(), a);
        objects.derivations.insert("/nix/store/bbbb-b.drv".into(), b);
        objects
            .paths
            .insert(text, nxe_evaluator::AddedPath::Text { contents: "echo hi\n".into(), references: BTreeSet::new() });
        objects.paths.insert(
            "/nix/store/cccc-src".into(),
            nxe_evaluator::AddedPath::Source {
                source: "/repo/app".into(),
                recursive: true,
                excluded: ["/repo/app/x".to_string()].into(),
            },
        );
        objects
    }

    #[test]
    fn store_objects_round_trip_as_closures() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut cache, _) = Cache::open(&dir.path().join("cache.db")).expect("open");
        let objects = objects();
        cache
            .store_with_objects("c", &[("u".into(), reads(), serde_json::json!(1))], std::slice::from_ref(&objects))
            .expect("store");
        let closure = cache.closure(&["/nix/store/bbbb-b.drv".into()]).expect("closure").expect("remembered");
        assert_eq!(closure.derivations, objects.derivations);
        // The source is not an input of either derivation.
        let expected: BTreeMap<_, _> =
            objects.paths.iter().filter(|(p, _)| p.ends_with("-script")).map(|(p, a)| (p.clone(), a.clone())).collect();
        assert_eq!(closure.paths, expected);
        let only_a = cache.closure(&["/nix/store/aaaa-a.drv".into()]).expect("closure").expect("remembered");
        assert_eq!(only_a.derivations.len(), 1);
        assert!(cache.closure(&["/nix/store/dddd-d.drv".into()]).expect("closure").is_none());
        // In memory, the same closure.
        let in_memory = objects.closure(&["/nix/store/bbbb-b.drv".into()]).expect("closure");
        assert_eq!(in_memory.derivations, closure.derivations);
        assert_eq!(in_memory.paths, closure.paths);
    }

    #[test]
    fn a_tampered_object_is_not_used_and_verify_reports_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut cache, _) = Cache::open(&dir.path().join("cache.db")).expect("open");
        cache.store_with_objects("c", &[("u".into(), reads(), serde_json::json!(1))], &[objects()]).expect("store");
        assert!(cache.verify().expect("verify").is_empty());
        cache
            .connection
            .execute("UPDATE objects SET body = replace(body, 'x86_64', 'i686') WHERE path LIKE '%a.drv'", [])
            .expect("tamper");
        assert!(cache.closure(&["/nix/store/bbbb-b.drv".into()]).expect("closure").is_none());
        let problems = cache.verify().expect("verify");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("aaaa-a.drv"), "{problems:?}");
    }

    /// One derivation named after `n`, as a host edited `n` times makes.
    fn edited(n: i64) -> (String, StoreObjects) {
        let mut objects = StoreObjects::default();
        let path = format!("/nix/store/{n:032}-busy.drv");
        let drv = nxe_store::Derivation {
            builder: "/bin/sh".into(),
            platform: "x86_64-linux".into(),
            env: [("n".to_string(), n.to_string())].into(),
            ..Default::default()
        };
        objects.derivations.insert(path.clone(), drv);
        (path, objects)
    }

    fn count(cache: &Cache, table: &str) -> i64 {
        cache.connection.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| row.get(0)).expect("count")
    }

    #[test]
    fn objects_no_kept_evaluation_made_are_forgotten_though_other_units_keep_old_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut cache, _) = Cache::open(&dir.path().join("cache.db")).expect("open");
        // A unit evaluated once and never again keeps its evaluation, and its objects.
        cache.store_with_objects("c", &[("stale".into(), reads(), serde_json::json!(0))], &[objects()]).expect("store");
        // A host edited again and again makes a new derivation each time.
        let total = KEEP_PER_UNIT + SWEEP_AFTER;
        for n in 0..total {
            let (_, made) = edited(n);
            cache.store_with_objects("c", &[("busy".into(), reads(), serde_json::json!(n))], &[made]).expect("store");
            // Dropped evaluations' objects stay until enough of them went.
            let expected = if n + 1 < total { 4 + n + 1 } else { 4 + KEEP_PER_UNIT };
            assert_eq!(count(&cache, "objects"), expected, "after {} edits", n + 1);
        }
        assert_eq!(count(&cache, "eval_objects"), 1 + KEEP_PER_UNIT);
        let closure = |cache: &Cache, path: &str| cache.closure(&[path.to_string()]).expect("closure");
        assert!(closure(&cache, "/nix/store/bbbb-b.drv").is_some(), "the stale unit's objects stay");
        assert!(closure(&cache, &edited(0).0).is_none());
        assert!(closure(&cache, &edited(total - KEEP_PER_UNIT).0).is_some(), "kept evaluations' objects stay");
        assert!(closure(&cache, &edited(total - 1).0).is_some());
        assert!(cache.verify().expect("verify").is_empty());
    }

    #[test]
    fn an_object_stays_while_an_evaluation_that_made_it_is_kept_and_a_changed_source_is_rewritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cache.db");
        let (mut cache, _) = Cache::open(&path).expect("open");
        cache.store_with_objects("c", &[("u".into(), reads(), serde_json::json!(0))], &[objects()]).expect("store");
        // Another unit makes the same objects, one source copied from elsewhere now.
        let mut again = objects();
        again.paths.insert(
            "/nix/store/cccc-src".into(),
            nxe_evaluator::AddedPath::Source { source: "/elsewhere/app".into(), recursive: true, excluded: [].into() },
        );
        cache.store_with_objects("c", &[("v".into(), reads(), serde_json::json!(0))], &[again]).expect("store");
        let body = |cache: &Cache| -> String {
            cache
                .connection
                .query_row("SELECT body FROM objects WHERE path = '/nix/store/cccc-src'", [], |row| row.get(0))
                .expect("source row")
        };
        assert!(body(&cache).contains("/elsewhere/app"), "{}", body(&cache));
        // The first unit's entry goes; the second unit's keeps every object.
        for n in 1..=KEEP_PER_UNIT {
            cache.store("c", &[("u".into(), reads(), serde_json::json!(n))]).expect("store");
        }
        sweep_objects(&cache.connection, &path).expect("sweep");
        let remembered = cache.closure(&["/nix/store/bbbb-b.drv".into()]).expect("closure");
        assert_eq!(remembered.map(|closure| closure.derivations.len()), Some(2));
        assert!(cache.verify().expect("verify").is_empty());
        // Once the second unit's entry goes too, they are forgotten, lists and all.
        for n in 1..=KEEP_PER_UNIT {
            cache.store("c", &[("v".into(), reads(), serde_json::json!(n))]).expect("store");
        }
        sweep_objects(&cache.connection, &path).expect("sweep");
        assert!(cache.closure(&["/nix/store/bbbb-b.drv".into()]).expect("closure").is_none());
        assert_eq!((count(&cache, "objects"), count(&cache, "eval_objects")), (0, 0));
    }

    #[test]
    fn only_the_newest_entries_of_a_unit_are_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut cache, _) = Cache::open(&dir.path().join("cache.db")).expect("open");
        for n in 0..20 {
            cache.store("c", &[("u".into(), reads(), serde_json::json!(n))]).expect("store");
        }
        let loaded = cache.load("c", &mut Vec::new()).expect("load");
        assert_eq!(loaded["u"].len() as i64, KEEP_PER_UNIT);
        assert_eq!(loaded["u"][0].result(), Some(serde_json::json!(19)));
    }

    #[test]
    fn a_garbage_file_is_reported_and_rebuilt() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cache.db");
        std::fs::write(&path, vec![7u8; 8192]).expect("write");
        let (mut cache, notes) = Cache::open(&path).expect("open");
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("rebuilding"), "{notes:?}");
        cache.store("c", &[("u".into(), reads(), serde_json::json!(1))]).expect("store");
        drop(cache);
        let (_, notes) = Cache::open(&path).expect("open again");
        assert!(notes.is_empty(), "{notes:?}");
    }

    /// Fills a cache at `path` with 300 entries, all in the database file (none in its
    /// log), and closes it.
    fn fill_and_close(path: &Path) {
        let (mut cache, _) = Cache::open(path).expect("open");
        let rows: Vec<_> = (0..300).map(|n| (format!("u{n}"), reads(), serde_json::json!("x".repeat(1000)))).collect();
        cache.store("c", &rows).expect("store");
        cache.connection.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").expect("checkpoint");
    }

    #[test]
    fn a_damaged_page_is_reported_and_the_cache_rebuilt() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cache.db");
        fill_and_close(&path);
        // Files' times of change move with a coarse clock: a write within a few
        // milliseconds of nxe's last one could leave the stamp of the files as it was.
        std::thread::sleep(Duration::from_millis(50));
        let mut bytes = std::fs::read(&path).expect("read");
        assert!(bytes.len() > 4096 * 8, "{} bytes", bytes.len());
        for byte in &mut bytes[4096 * 3..4096 * 6] {
            *byte = 0x5a;
        }
        std::fs::write(&path, bytes).expect("write");
        let (cache, notes) = Cache::open(&path).expect("open");
        assert!(notes.iter().any(|n| n.contains("corrupt") && n.contains("rebuilding")), "{notes:?}");
        let loaded = cache.load("c", &mut Vec::new()).expect("load");
        assert!(loaded.is_empty(), "{} units loaded from a rebuilt cache", loaded.len());
        drop(cache);
        let (_, notes) = Cache::open(&path).expect("open again");
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn files_as_the_last_process_left_them_are_not_checked_again() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cache.db");
        fill_and_close(&path);
        let stamp = files_stamp(&path).expect("stamp");
        assert_eq!(std::fs::read_to_string(stamp_path(&path)).ok().as_ref(), Some(&stamp));
        // Damage that leaves the files' stamps as they were goes past the check: it is
        // skipped.
        let meta = std::fs::metadata(&path).expect("metadata");
        let mut bytes = std::fs::read(&path).expect("read");
        for byte in &mut bytes[4096 * 3..4096 * 6] {
            *byte = 0x5a;
        }
        std::fs::write(&path, bytes).expect("write");
        let time = libc::timespec { tv_sec: meta.mtime(), tv_nsec: meta.mtime_nsec() };
        let name = std::ffi::CString::new(path.to_string_lossy().as_bytes()).expect("path");
        // SAFETY: a valid path and two valid times.
        let restored = unsafe { libc::utimensat(libc::AT_FDCWD, name.as_ptr(), [time, time].as_ptr(), 0) };
        assert_eq!(restored, 0);
        assert_eq!(files_stamp(&path), Some(stamp.clone()));
        {
            let (cache, notes) = Cache::open(&path).expect("open");
            assert!(notes.is_empty(), "{notes:?}");
            // Reading the damaged pages fails; a cache in which a query failed is left
            // without a stamp, so the next process checks it.
            assert!(cache.load("c", &mut Vec::new()).is_err());
        }
        assert!(!stamp_path(&path).exists());
        let (_, notes) = Cache::open(&path).expect("open");
        assert!(notes.iter().any(|n| n.contains("corrupt") && n.contains("rebuilding")), "{notes:?}");
    }

    #[test]
    fn a_cache_that_fails_to_load_is_checked_and_rebuilt_in_the_same_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cache.db");
        fill_and_close(&path);
        // Damage that leaves the stamp as it was, so opening skips the check.
        let stamp = std::fs::read_to_string(stamp_path(&path)).expect("stamp");
        let mut bytes = std::fs::read(&path).expect("read");
        for byte in &mut bytes[4096 * 3..4096 * 6] {
            *byte = 0x5a;
        }
        std::fs::write(&path, bytes).expect("write");
        std::fs::write(stamp_path(&path), files_stamp(&path).expect("stamp")).expect("write stamp");
        assert_ne!(std::fs::read_to_string(stamp_path(&path)).ok(), Some(stamp));
        let (cache, entries, notes) = Cache::open_and_load(&path, "c").expect("open and load");
        assert!(entries.is_empty());
        assert!(notes.iter().any(|n| n.contains("corrupt") && n.contains("rebuilding")), "{notes:?}");
        drop(cache);
        let (_, entries, notes) = Cache::open_and_load(&path, "c").expect("open again");
        assert!(entries.is_empty() && notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn another_schema_version_is_rebuilt() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cache.db");
        {
            let (cache, _) = Cache::open(&path).expect("open");
            cache.connection.execute_batch("PRAGMA user_version = 99").expect("set version");
        }
        let (_, notes) = Cache::open(&path).expect("open");
        assert!(notes.iter().any(|n| n.contains("format version 99")), "{notes:?}");
    }

    #[test]
    fn a_tampered_row_is_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut cache, _) = Cache::open(&dir.path().join("cache.db")).expect("open");
        cache.store("c", &[("u".into(), reads(), serde_json::json!(1))]).expect("store");
        cache.connection.execute("UPDATE evals SET result = '2'", []).expect("tamper");
        assert_eq!(cache.verify().expect("verify").len(), 1);
        let mut notes = Vec::new();
        assert!(cache.load("c", &mut notes).expect("load").is_empty());
        assert_eq!(notes.len(), 1);
        assert!(cache.verify().expect("verify").is_empty());
    }

    #[test]
    fn a_read_set_is_stored_once_and_a_tampered_one_drops_the_entries_that_use_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut cache, _) = Cache::open(&dir.path().join("cache.db")).expect("open");
        let shared = reads();
        let other = ReadSet(vec![(ReadKey::File("b.nix".into()), "11".into())].into());
        let rows = [
            ("u".to_string(), shared.clone(), serde_json::json!(1)),
            ("v".to_string(), shared.clone(), serde_json::json!(2)),
            ("w".to_string(), other.clone(), serde_json::json!(3)),
        ];
        cache.store("c", &rows).expect("store");
        let count = |cache: &Cache| {
            cache.connection.query_row("SELECT count(*) FROM readsets", [], |row| row.get::<_, i64>(0)).expect("count")
        };
        assert_eq!(count(&cache), 2);
        let loaded = cache.load("c", &mut Vec::new()).expect("load");
        assert_eq!(loaded["u"][0].reads(), Some(&shared));
        assert_eq!(loaded["v"][0].reads(), Some(&shared));
        assert_eq!(loaded["w"][0].reads(), Some(&other));
        // Entries sharing a read set share its one parse.
        let parsed = |unit: &str| loaded[unit][0].reads().expect("parsed") as *const ReadSet;
        assert_eq!(parsed("u"), parsed("v"));
        // A read set no kept entry uses is forgotten.
        for n in 0..KEEP_PER_UNIT {
            cache.store("c", &[("w".into(), shared.clone(), serde_json::json!(n))]).expect("store");
        }
        assert_eq!(count(&cache), 1);
        // A damaged read set is reported, and the entries that use it are dropped.
        cache.connection.execute("UPDATE readsets SET body = replace(body, '00', '01')", []).expect("tamper");
        assert_eq!(cache.verify().expect("verify").len(), 1);
        let mut notes = Vec::new();
        assert!(cache.load("c", &mut notes).expect("load").is_empty());
        assert_eq!(notes.len(), 1, "{notes:?}");
    }

    #[test]
    fn snapshots_round_trip_newest_first_a_few_per_host_and_a_tampered_one_is_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut cache, _) = Cache::open(&dir.path().join("cache.db")).expect("open");
        let shape = Shape::Attrs([("a".to_string(), Shape::Leaf)].into_iter().collect());
        for n in 0..6 {
            let snap = Snap::Attrs(vec![("a".to_string(), Snap::Int(n))]);
            cache.store_snapshots("c", &[("web-01".into(), reads(), shape.clone(), snap)]).expect("store");
        }
        cache.store_snapshots("other", &[("web-01".into(), reads(), Shape::Leaf, Snap::Null)]).expect("store");
        let rows = cache.load_snapshots("c").expect("load");
        assert_eq!(rows.len(), KEEP_PER_HOST as usize);
        let newest: Snap = serde_json::from_str(&rows[0].body).expect("body");
        assert_eq!(newest, Snap::Attrs(vec![("a".to_string(), Snap::Int(5))]));
        assert_eq!((rows[0].shape.clone(), rows[0].reads.clone()), (shape, reads()));

        cache.connection.execute("UPDATE snapshots SET body = 'null' WHERE context = 'other'", []).expect("tamper");
        assert_eq!(cache.verify().expect("verify").len(), 1);
        assert!(cache.load_snapshots("other").expect("load").is_empty());
        assert!(cache.verify().expect("verify").is_empty());
    }

    #[test]
    fn passes_are_remembered_and_forgotten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut cache, _) = Cache::open(&dir.path().join("cache.db")).expect("open");
        cache.record_passes(&[("k1".into(), "unit".into(), "t".into())]).expect("record");
        let keys = vec!["k1".to_string(), "k2".to_string()];
        assert_eq!(cache.passed(&keys).expect("passed"), BTreeSet::from(["k1".to_string()]));
        cache.forget_passes(&keys).expect("forget");
        assert!(cache.passed(&keys).expect("passed").is_empty());
    }

    #[test]
    fn writes_between_begin_and_finish_are_committed_together_or_not_at_all() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cache.db");
        let (mut cache, _) = Cache::open(&path).expect("open");
        let keys = vec!["k1".to_string()];
        let write = |cache: &mut Cache| -> Result<(), EngineError> {
            cache.store("c", &[("host:a".into(), reads(), serde_json::json!(1))])?;
            cache.record_passes(&[("k1".into(), "unit".into(), "t".into())])
        };
        // A failure after the writes takes them all back.
        cache.begin().expect("begin");
        let written = write(&mut cache).and(Err::<(), _>(EngineError::Internal("later failure".into())));
        assert!(cache.finish(written).is_err());
        assert!(cache.load("c", &mut Vec::new()).expect("load").is_empty());
        assert!(cache.passed(&keys).expect("passed").is_empty());
        // Until the commit, another connection sees none of them; then all.
        cache.begin().expect("begin");
        write(&mut cache).expect("write");
        let (other, _) = Cache::open(&path).expect("open another");
        assert!(other.load("c", &mut Vec::new()).expect("load").is_empty());
        cache.finish(Ok(())).expect("commit");
        assert_eq!(other.load("c", &mut Vec::new()).expect("load").len(), 1);
        assert_eq!(other.passed(&keys).expect("passed"), BTreeSet::from(["k1".to_string()]));
    }

    #[test]
    fn the_stamp_is_written_over_whatever_the_file_held() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cache.db");
        fill_and_close(&path);
        // A longer leftover (another version, or a write cut short) is cut to the stamp.
        std::fs::write(stamp_path(&path), "x".repeat(500)).expect("write");
        let (cache, notes) = Cache::open(&path).expect("open");
        assert!(notes.is_empty(), "{notes:?}");
        drop(cache);
        let stamp = files_stamp(&path).expect("stamp");
        assert_eq!(std::fs::read_to_string(stamp_path(&path)).expect("read"), stamp);
    }
}
