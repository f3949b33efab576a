//! Which packages an `apt` run hands to apt-get, decided as Ansible's `apt` decides:
//! name globs expanded against apt's cache, `name=version` (globs allowed) and
//! `name>=version` specs checked against what is installed and installable.

use super::super::ModuleError;
use super::host::Host;

/// Why packages cannot be selected, as Ansible fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Ansible's module exits at once (`fail_json` inside the selection).
    Exit(String),
    /// Ansible returns the failure to its caller, which adds the cache keys.
    Return(String),
}

/// `name`, `=`/`>=`, `version`, as Ansible's `package_split`.
pub fn split(spec: &str) -> (&str, Option<&str>, Option<&str>) {
    for (i, _) in spec.char_indices() {
        let rest = &spec[i..];
        if let Some(v) = rest.strip_prefix(">=") {
            return (&spec[..i], Some(">="), Some(v));
        }
        if let Some(v) = rest.strip_prefix('=') {
            return (&spec[..i], Some("="), Some(v));
        }
    }
    (spec, None, None)
}

/// Specs with globs in their names replaced by the matching package names.
pub fn expand(
    host: &Host<'_>,
    specs: &[String],
) -> Result<Result<Vec<String>, Refusal>, ModuleError> {
    let mut out = Vec::new();
    let mut names: Option<Vec<String>> = None;
    for spec in specs {
        let (pattern, _, _) = split(spec);
        if !pattern.contains(['*', '?', '[', ']', '!']) {
            out.push(spec.clone());
            continue;
        }
        if names.is_none() {
            names = Some(host.all_names()?);
        }
        let glob = glob::Pattern::new(pattern).ok();
        let matches: Vec<String> = names
            .iter()
            .flatten()
            .filter(|n| pattern.contains(':') || !n.contains(':'))
            .filter(|n| glob.as_ref().is_some_and(|g| g.matches(n)))
            .cloned()
            .collect();
        if matches.is_empty() {
            return Ok(Err(Refusal::Exit(format!(
                "No package(s) matching '{pattern}' available"
            ))));
        }
        out.extend(matches);
    }
    Ok(Ok(out))
}

/// What can be installed for a spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installable {
    /// Nothing newer or matching.
    No,
    /// This version.
    Version(String),
    /// apt decides (a virtual package).
    Any,
}

/// Ansible's `package_status`: installed, installed version matches, installable, has files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageStatus {
    pub installed: bool,
    pub version_ok: bool,
    pub installable: Installable,
    pub has_files: bool,
}

/// The status of `name` for `op version`, for installing (`install`) or removing.
pub fn status(
    host: &Host<'_>,
    name: &str,
    op: Option<&str>,
    version: Option<&str>,
    install: bool,
) -> Result<Result<PackageStatus, Refusal>, ModuleError> {
    let Some(policy) = host.policy(name)? else {
        let dpkg = host.status(name)?;
        if dpkg.installed.is_none() && !install {
            return Ok(Ok(PackageStatus {
                installed: false,
                version_ok: false,
                installable: Installable::No,
                has_files: dpkg.has_files,
            }));
        }
        if dpkg.installed.is_none() {
            let providers = host.providers(name)?;
            if providers.is_empty() {
                return Ok(Err(Refusal::Exit(format!(
                    "No package matching '{name}' is available"
                ))));
            }
            if let [one] = providers.as_slice() {
                let s = status(host, one, op, version, true)?;
                if let Ok(s) = &s
                    && s.installed
                {
                    return Ok(Ok(s.clone()));
                }
            }
            return Ok(Ok(PackageStatus {
                installed: false,
                version_ok: false,
                installable: Installable::Any,
                has_files: false,
            }));
        }
        // Installed, but no longer in any source: only dpkg knows it.
        let v = dpkg.installed.unwrap_or_default();
        let version_ok = matches(host, &v, op, version)?;
        return Ok(Ok(PackageStatus {
            installed: true,
            version_ok,
            installable: Installable::No,
            has_files: true,
        }));
    };
    let dpkg = host.status(name)?;
    let best = match (op, version) {
        (Some("="), Some(v)) => {
            let g = glob::Pattern::new(v).ok();
            policy
                .versions
                .iter()
                .find(|c| g.as_ref().map_or(c.as_str() == v, |g| g.matches(c)))
                .cloned()
        }
        _ => policy.candidate.clone(),
    };
    let Some(have) = dpkg.installed.clone() else {
        return Ok(Ok(PackageStatus {
            installed: false,
            version_ok: false,
            installable: best.map_or(Installable::No, Installable::Version),
            has_files: dpkg.has_files,
        }));
    };
    let version_ok = matches(host, &have, op, version)?;
    let mut installable = Installable::No;
    if let Some(b) = best
        && b != have
        && matches(host, &b, op, version)?
    {
        installable = Installable::Version(b);
    }
    Ok(Ok(PackageStatus {
        installed: true,
        version_ok,
        installable,
        has_files: dpkg.has_files,
    }))
}

/// Whether version `v` satisfies `op version` (any version when no operator).
fn matches(
    host: &Host<'_>,
    v: &str,
    op: Option<&str>,
    version: Option<&str>,
) -> Result<bool, ModuleError> {
    match (op, version) {
        (Some("="), Some(want)) => Ok(glob::Pattern::new(want).map_or(v == want, |g| g.matches(v))),
        (Some(">="), Some(want)) => host.version_holds(v, "ge", want),
        _ => Ok(true),
    }
}

/// The install list (`name=version` or `name`) for apt-get, as Ansible's `install`
/// builds it.
pub fn to_install(
    host: &Host<'_>,
    specs: &[String],
    upgrade: bool,
    only_upgrade: bool,
) -> Result<Result<Vec<String>, Refusal>, ModuleError> {
    let mut list = Vec::new();
    for spec in specs {
        let (name, op, version) = split(spec);
        let s = match status(host, name, op, version, true)? {
            Ok(s) => s,
            Err(refusal) => return Ok(Err(refusal)),
        };
        if !s.installed && only_upgrade {
            continue;
        }
        let can = s.installable != Installable::No;
        if !s.version_ok && !can {
            return Ok(Err(Refusal::Return(format!(
                "no available installation candidate for {spec}"
            ))));
        }
        if can && ((!s.installed && !only_upgrade) || upgrade || !s.version_ok) {
            list.push(match (&s.installable, version) {
                (Installable::Version(v), _) => format!("{name}={v}"),
                (_, Some(v)) => format!("{name}={v}"),
                _ => name.to_owned(),
            });
        } else if s.version_ok && can && op == Some("=") {
            list.push(format!("{name}={}", version.unwrap_or_default()));
        }
    }
    Ok(Ok(list))
}

/// The remove list: specs installed (in a matching version), or with files left when
/// purging.
pub fn to_remove(
    host: &Host<'_>,
    specs: &[String],
    purge: bool,
) -> Result<Vec<String>, ModuleError> {
    let mut list = Vec::new();
    for spec in specs {
        let (name, op, version) = split(spec);
        if let Ok(s) = status(host, name, op, version, false)?
            && ((s.installed && s.version_ok) || (s.has_files && purge))
        {
            list.push(spec.clone());
        }
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn specs_split_as_ansibles() {
        assert_eq!(split("foo"), ("foo", None, None));
        assert_eq!(split("foo=1.0*"), ("foo", Some("="), Some("1.0*")));
        assert_eq!(split("foo>=2"), ("foo", Some(">="), Some("2")));
    }
}
