//! `deb`: install .deb files found on the host with `dpkg -i`, skipping those whose
//! version is already installed, as Ansible's `install_deb`.

use serde_json::{Map, Value as Json};

use super::super::{ModuleError, Outcome};
use super::flow::{Run, prepared};
use crate::wire::Diff;

/// `dpkg --field deb field`.
fn field(run: &Run<'_>, deb: &str, name: &str) -> Result<Result<String, Outcome>, ModuleError> {
    let ran = run
        .host
        .run("dpkg", &["--field".into(), deb.into(), name.into()])?;
    if ran.rc != 0 {
        let mut o = Outcome::failed(format!("/usr/bin/dpkg --field {deb} {name} failed"));
        o.data.insert("stdout".into(), ran.stdout.into());
        o.data.insert("stderr".into(), ran.stderr.into());
        return Ok(Err(o));
    }
    Ok(Ok(ran.stdout.trim_end_matches('\n').to_owned()))
}

/// Installs the comma-separated `debs`.
pub fn install(run: &Run<'_>, debs: &str) -> Result<Outcome, ModuleError> {
    if debs.contains("://") {
        return Ok(Outcome::failed(
            "a `deb` URL is not supported by dr's apt: fetch it with `get_url` first and give its path",
        ));
    }
    let mut todo = Vec::new();
    for deb in debs.split(',') {
        let name = match field(run, deb, "Package")? {
            Ok(n) => n,
            Err(o) => return Ok(o),
        };
        let version = match field(run, deb, "Version")? {
            Ok(v) => v,
            Err(o) => return Ok(o),
        };
        if let Some(have) = run.host.status(&name)?.installed
            && run.host.version_holds(&have, "eq", &version)?
        {
            continue;
        }
        todo.push(deb.to_owned());
    }
    if todo.is_empty() {
        let mut data = Map::new();
        data.insert("stdout".into(), Json::from(""));
        data.insert("stderr".into(), Json::from(""));
        return Ok(Outcome {
            data,
            ..Outcome::ok("")
        });
    }
    let opts = run
        .spec
        .dpkg_options
        .as_deref()
        .unwrap_or(super::spec::DPKG_OPTIONS);
    let mut options: Vec<String> = opts.split(',').map(|o| format!("--{o}")).collect();
    if run.simulate {
        options.push("--simulate".into());
    }
    if run.spec.force {
        options.push("--force-all".into());
    }
    let cmd = format!("dpkg {} -i {}", options.join(" "), todo.join(" "));
    let ran = run.dpkg(&cmd)?;
    let mut data = Map::new();
    data.insert("stdout".into(), Json::from(ran.stdout.clone()));
    data.insert("stderr".into(), Json::from(ran.stderr.clone()));
    if ran.rc != 0 {
        return Ok(Outcome {
            failed: true,
            msg: format!("{cmd} failed"),
            data,
            ..Outcome::default()
        });
    }
    Ok(Outcome {
        changed: true,
        data,
        diffs: if run.diff {
            vec![Diff {
                target: "packages".into(),
                text: prepared(&ran.stdout),
            }]
        } else {
            Vec::new()
        },
        ..Outcome::default()
    })
}
