//! Runs every case of `cases.json` on every host and compares each answer with the case's golden
//! outcome. `SCOREKIT_BLESS=1` rewrites the golden outcomes from the native host (the reference)
//! first; review the diff before committing it.

use std::collections::BTreeSet;

use scorekit_conformance::case::{load_cases, suite_dir};
use scorekit_conformance::hosts::{CliHost, NativeHost, PostgresHost, ServerHost, cli::host_binary};
use scorekit_conformance::{Fixtures, Host, Outcome};

const HOSTS: [&str; 4] = ["native", "cli", "server", "postgres"];

fn golden_path(id: &str) -> std::path::PathBuf {
    suite_dir().join("golden").join(format!("{id}.json"))
}

#[test]
fn every_host_agrees_with_the_golden_outcomes() {
    let cases = load_cases();
    let fx = Fixtures::build();
    let bless = std::env::var("SCOREKIT_BLESS").is_ok_and(|v| v == "1");
    let bin = host_binary();
    let mut hosts: Vec<Box<dyn Host>> =
        vec![Box::new(NativeHost), Box::new(CliHost::new(bin.clone())), Box::new(ServerHost::new(bin))];
    match PostgresHost::from_env() {
        Some(pg) => hosts.push(Box::new(pg)),
        None => eprintln!(
            "postgres: not in this run (SCOREKIT_CONFORMANCE_PSQL unset; sql-plugins/postgres/test.sh runs it)"
        ),
    }
    let mut failures = Vec::new();
    let mut report = String::new();
    for case in &cases {
        for host in &case.skip {
            assert!(
                HOSTS.contains(&host.0.as_str()),
                "case {}: skip names an unknown host '{}'",
                case.id,
                host.0
            );
        }
        let path = golden_path(&case.id);
        if bless {
            let answer = NativeHost.run(case, &fx);
            let text = serde_json::to_string_pretty(&answer).expect("outcome JSON") + "\n";
            std::fs::write(&path, text).expect("writing a golden outcome");
        }
        let golden: Outcome = match std::fs::read_to_string(&path) {
            Ok(t) => serde_json::from_str(&t).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
            Err(_) => {
                failures.push(format!(
                    "{}: no golden outcome ({}); run with SCOREKIT_BLESS=1",
                    case.id,
                    path.display()
                ));
                continue;
            }
        };
        for host in hosts.iter_mut() {
            let line = match case.skipped_by(host.name()) {
                Some(reason) => format!("skip ({reason})"),
                None => match host.run(case, &fx).agrees(&golden) {
                    Ok(()) => "ok".to_string(),
                    Err(why) => {
                        failures.push(format!("{} on {}: {why}", case.id, host.name()));
                        "FAIL".to_string()
                    }
                },
            };
            report.push_str(&format!("{:<34} {:<8} {line}\n", case.id, host.name()));
        }
    }
    eprintln!("{report}");
    assert!(failures.is_empty(), "{} disagreement(s):\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_golden_outcome_belongs_to_a_case() {
    let ids: BTreeSet<String> = load_cases().into_iter().map(|c| c.id).collect();
    for entry in std::fs::read_dir(suite_dir().join("golden")).expect("golden/") {
        let name = entry.expect("entry").file_name().to_string_lossy().to_string();
        let id = name.strip_suffix(".json").unwrap_or(&name);
        assert!(ids.contains(id), "golden/{name} has no case in cases.json");
    }
}
