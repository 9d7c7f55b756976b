//! `canary history ARCHIVE`: each canary's runs, availability, failures, percentiles and outages.

use std::process::ExitCode;

use anyhow::{Context, Result};

use canary::archive::history::{self, Query};

use crate::args::HistoryArgs;
use crate::commands::emit;

pub fn run(args: &HistoryArgs) -> Result<ExitCode> {
    let since = match args.since {
        Some(age) => {
            let age = chrono::Duration::from_std(age).ok();
            let since = age.and_then(|a| chrono::Utc::now().checked_sub_signed(a));
            Some(since.context("--since is too long ago")?)
        }
        None => None,
    };
    let q = Query {
        since,
        canary: args.canary.clone(),
    };
    let histories = history::read(&args.archive, &q)?;
    if args.json {
        emit(&format!("{}\n", serde_json::to_string_pretty(&histories)?));
    } else {
        emit(&history::render(&histories));
    }
    Ok(ExitCode::SUCCESS)
}
