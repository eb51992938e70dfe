//! Adding up the shards of one fleet run (`cargo xtask fleet --shard K/N` on N machines,
//! then `cargo xtask fleet --merge`): each shard's summary carries its raw figures
//! ([`ShardPart`]); [`merge`] checks that the files are the N shards of one run, each once,
//! and adds their figures up as the threads of one run are ([`Metrics::merge`]): the merged
//! summary is the one a single run writes whose threads were these shards, and so, without
//! server limits or congestion (README "Shards, and what is exact"), the unsharded run's.

use crate::fleet::spec::FleetSpec;
use crate::fleet::summary::{Metrics, ShardPart, Summary};

/// The summary of shard `k` of `n` of `spec`'s fleet, run on `threads` threads, with the
/// part that merging reads.
pub fn shard_summary(
    spec: &FleetSpec,
    (k, n): (u32, u32),
    threads: u32,
    metrics: Metrics,
) -> Summary {
    let mut summary = metrics.summary(&spec.name, spec.cells, threads * n);
    summary.shard = Some(ShardPart {
        k,
        n,
        threads,
        spec: spec.clone(),
        metrics,
    });
    summary
}

/// The summary of the shards whose summaries (JSON) `files` holds, as `(path, text)`; or
/// why they are not the shards of one run.
pub fn merge(files: &[(String, String)]) -> Result<Summary, String> {
    /// A shard summary's one part that is read back; the rest is derived from it.
    #[derive(serde::Deserialize)]
    struct ShardFile {
        shard: Option<ShardPart>,
    }
    let mut parts: Vec<(&str, ShardPart)> = Vec::new();
    for (path, text) in files {
        let file: ShardFile = serde_json::from_str(text).map_err(|e| format!("{path}: {e}"))?;
        let part = file.shard.ok_or_else(|| {
            format!("{path}: not the summary of a `--shard K/N` run (it has no \"shard\" part)")
        })?;
        if part.k == 0 || part.k > part.n {
            return Err(format!("{path}: shard {} of {} is not one", part.k, part.n));
        }
        if let Some((first, one)) = parts.first() {
            if let Some(why) = differs(one, &part) {
                return Err(format!(
                    "{path} is not a shard of the run {first} is: {why}"
                ));
            }
        }
        if let Some((other, _)) = parts.iter().find(|(_, p)| p.k == part.k) {
            return Err(format!(
                "shard {} of {} is given twice: {other} and {path}",
                part.k, part.n
            ));
        }
        parts.push((path, part));
    }
    let Some((_, first)) = parts.first() else {
        return Err("no shard summaries to merge".into());
    };
    let (n, spec) = (first.n, first.spec.clone());
    let missing: Vec<String> = (1..=n)
        .filter(|k| !parts.iter().any(|(_, p)| p.k == *k))
        .map(|k| k.to_string())
        .collect();
    if !missing.is_empty() {
        let (shards, are) = if missing.len() == 1 {
            ("shard", "is")
        } else {
            ("shards", "are")
        };
        let missing = missing.join(", ");
        return Err(format!(
            "{shards} {missing} of {n} {are} missing (each of 1 to {n} is needed once)"
        ));
    }
    parts.sort_by_key(|(_, p)| p.k);
    let threads = parts.iter().map(|(_, p)| p.threads).sum();
    let mut total = Metrics::default();
    for (_, part) in parts {
        total.merge(part.metrics);
    }
    Ok(total.summary(&spec.name, spec.cells, threads))
}

/// How `b` is not a shard of `a`'s run, if it is not.
fn differs(a: &ShardPart, b: &ShardPart) -> Option<String> {
    let (x, y) = (&a.spec, &b.spec);
    let duration = |s: &FleetSpec| units::format_duration(s.duration);
    let fields = [
        ("shards", a.n.to_string(), b.n.to_string()),
        ("fleet", x.name.clone(), y.name.clone()),
        ("seed", x.seed.to_string(), y.seed.to_string()),
        ("devices", x.devices.to_string(), y.devices.to_string()),
        ("cells", x.cells.to_string(), y.cells.to_string()),
        ("duration", duration(x), duration(y)),
    ];
    let field = fields.into_iter().find(|(_, one, other)| one != other);
    match field {
        Some((name, one, other)) => Some(format!("{name} {other}, not {one}")),
        None if x != y => Some("the fleet files differ (server, timeline or device)".into()),
        None => None,
    }
}
