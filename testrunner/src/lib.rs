//! nxe's test runner: the kinds of tests a fleet repository has (option validation, unit
//! tests, policies, checks that pass when they build), the builders that build checks, and
//! the reports of a run.

pub mod build;
pub mod dag;
pub mod options;
pub mod policy;
pub mod report;
pub mod runner;
pub mod unit;
