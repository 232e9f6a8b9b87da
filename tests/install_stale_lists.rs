//! `scripts/apt-ensure.sh` (what `scripts/install.sh` and the batch-system scripts install
//! Debian packages with) on a machine whose package lists are stale: the failure a new user's
//! machine hits first ("Unable to correct problems, you have held broken packages", or a 404
//! for a package version the mirror no longer has).
//!
//! Hermetic and real: a local apt repository (a `file:` source, `[trusted=yes]`) serves a small
//! probe package built here with `dpkg-deb`; real `apt-get` is pointed at it, and only at it,
//! through `APT_CONFIG` (its own lists, cache and sources). The lists are made stale the way a
//! mirror makes them stale: they are fetched, then the repository moves on. The probe is really
//! installed with dpkg and purged afterwards. Needs root (`skipped: …` otherwise, a failure
//! under `TESSERA_TEST_STRICT`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PROBE: &str = "tessera-stale-lists-probe";

fn skip(why: &str) {
    assert!(
        std::env::var_os("TESSERA_TEST_STRICT").is_none(),
        "TESSERA_TEST_STRICT: {why}"
    );
    eprintln!("skipped: {why}");
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// A local apt repository with its own apt configuration; purges the probe on drop.
struct LocalRepo {
    dir: tempfile::TempDir,
}

impl LocalRepo {
    fn new() -> LocalRepo {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in ["repo", "lists/partial", "cache/archives/partial", "parts"] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        fs::write(
            root.join("sources.list"),
            format!(
                "deb [trusted=yes] file:{} ./\n",
                root.join("repo").display()
            ),
        )
        .unwrap();
        let conf = format!(
            "Dir::State::Lists \"{r}/lists\";\nDir::Cache \"{r}/cache\";\n\
             Dir::Etc::SourceList \"{r}/sources.list\";\nDir::Etc::SourceParts \"{r}/parts\";\n",
            r = root.display()
        );
        fs::write(root.join("apt.conf"), conf).unwrap();
        let repo = LocalRepo { dir };
        repo.purge_probe();
        repo
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn apt_config(&self) -> PathBuf {
        self.root().join("apt.conf")
    }

    /// The repository now serves exactly these versions of the probe (`(version, depends)`),
    /// with a `Packages` index written the way a mirror writes it.
    fn publish(&self, versions: &[(&str, Option<&str>)]) {
        let repo = self.root().join("repo");
        for e in fs::read_dir(&repo).unwrap() {
            fs::remove_file(e.unwrap().path()).unwrap();
        }
        let mut index = String::new();
        for (version, depends) in versions {
            let pkg = self.root().join("pkg");
            let _ = fs::remove_dir_all(&pkg);
            fs::create_dir_all(pkg.join("DEBIAN")).unwrap();
            let doc = pkg.join("usr/share/doc").join(PROBE);
            fs::create_dir_all(&doc).unwrap();
            fs::write(doc.join("version"), version).unwrap();
            let mut control = format!(
                "Package: {PROBE}\nVersion: {version}\nArchitecture: all\n\
                 Maintainer: Tessera tests <tests@example.invalid>\n\
                 Description: probe package of tests/install_stale_lists.rs\n"
            );
            if let Some(d) = depends {
                control.push_str(&format!("Depends: {d}\n"));
            }
            fs::write(pkg.join("DEBIAN/control"), control.as_bytes()).unwrap();
            let deb_name = format!("{PROBE}_{version}_all.deb");
            let deb = repo.join(&deb_name);
            let out = Command::new("dpkg-deb")
                .args(["-b", "-Zgzip"])
                .arg(&pkg)
                .arg(&deb)
                .output()
                .unwrap();
            assert!(out.status.success(), "dpkg-deb: {out:?}");
            let bytes = fs::read(&deb).unwrap();
            let sha = Command::new("sha256sum").arg(&deb).output().unwrap();
            let sha = String::from_utf8_lossy(&sha.stdout);
            index.push_str(&control);
            index.push_str(&format!(
                "Filename: ./{deb_name}\nSize: {}\nSHA256: {}\n\n",
                bytes.len(),
                sha.split_whitespace().next().unwrap()
            ));
        }
        fs::write(repo.join("Packages"), index).unwrap();
    }

    /// `apt-get update` against the repository as it is now: the lists then describe it.
    fn fetch_lists(&self) {
        let out = self.apt(&["update", "-qq"]);
        assert!(out.status.success(), "apt-get update: {out:?}");
    }

    /// Pretend `apt-ensure.sh` refreshed the lists a moment ago, so that it skips its first
    /// update and the install meets the stale lists (the retry path).
    fn mark_lists_fresh(&self) {
        fs::write(self.root().join("lists/.tessera-apt-ensure-updated"), "").unwrap();
    }

    fn apt(&self, args: &[&str]) -> Output {
        Command::new("apt-get")
            .env("APT_CONFIG", self.apt_config())
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["-o", "DPkg::Lock::Timeout=600"])
            .args(args)
            .output()
            .unwrap()
    }

    fn ensure(&self) -> Output {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/apt-ensure.sh");
        Command::new(script)
            .env("APT_CONFIG", self.apt_config())
            .env("APT_ENSURE_TAG", "probe")
            .arg(PROBE)
            .output()
            .unwrap()
    }

    fn installed_version(&self) -> Option<String> {
        let doc = Path::new("/usr/share/doc").join(PROBE).join("version");
        let status = Command::new("dpkg-query")
            .args(["-W", "-f=${Status} ${Version}", PROBE])
            .output()
            .unwrap();
        let status = String::from_utf8_lossy(&status.stdout).to_string();
        status
            .starts_with("install ok installed")
            .then(|| fs::read_to_string(doc).unwrap_or_default())
    }

    fn purge_probe(&self) {
        let out = self.apt(&["purge", "-y", "-qq", PROBE]);
        assert!(
            out.status.success() || self.installed_version().is_none(),
            "purge {PROBE}: {out:?}"
        );
    }
}

impl Drop for LocalRepo {
    fn drop(&mut self) {
        let _ = self.apt(&["purge", "-y", "-qq", PROBE]);
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn apt_ensure_installs_on_stale_package_lists() {
    if !is_root() {
        return skip("apt-get install needs root");
    }
    let repo = LocalRepo::new();

    // 1. "held broken packages": the lists know version 1.0, which depends on a package
    //    that is gone; the mirror has moved on to 2.0. The lists are marked as just
    //    refreshed, so the install meets them: it must fail, update and retry.
    repo.publish(&[("1.0", Some("tessera-no-such-package"))]);
    repo.fetch_lists();
    let plain = repo.apt(&["install", "-y", "-qq", PROBE]);
    assert!(
        !plain.status.success(),
        "stale lists must break a plain install"
    );
    assert!(stderr(&plain).contains("held broken packages"), "{plain:?}");
    repo.publish(&[("2.0", None)]);
    repo.mark_lists_fresh();
    let out = repo.ensure();
    let log = stderr(&out);
    assert!(out.status.success(), "apt-ensure.sh on stale lists: {log}");
    assert!(
        log.contains("held broken packages") && log.contains("retrying once"),
        "{log}"
    );
    assert_eq!(repo.installed_version().as_deref(), Some("2.0"));
    repo.purge_probe();

    // 2. A version the mirror no longer has (a 404 on a fresh machine): lists know 3.0, the
    //    mirror only 4.0. No recent refresh: apt-ensure updates before installing.
    repo.publish(&[("3.0", None)]);
    repo.fetch_lists();
    repo.publish(&[("4.0", None)]);
    let plain = repo.apt(&["install", "-y", "-qq", PROBE]);
    assert!(
        !plain.status.success(),
        "a vanished version must break a plain install"
    );
    let _ = fs::remove_file(repo.root().join("lists/.tessera-apt-ensure-updated"));
    let out = repo.ensure();
    let log = stderr(&out);
    assert!(
        out.status.success(),
        "apt-ensure.sh with a vanished version: {log}"
    );
    assert!(
        log.contains("before installing") && !log.contains("retrying"),
        "{log}"
    );
    assert_eq!(repo.installed_version().as_deref(), Some("4.0"));

    // 3. Installed already: a no-op that touches no list (the stamp is not renewed).
    let stamp = repo.root().join("lists/.tessera-apt-ensure-updated");
    fs::remove_file(&stamp).unwrap();
    let out = repo.ensure();
    assert!(out.status.success() && stderr(&out).is_empty(), "{out:?}");
    assert!(
        !stamp.exists(),
        "nothing to install must not update the lists"
    );
    repo.purge_probe();

    // 4. A package that cannot be installed even on fresh lists: one clear error, exit 1.
    repo.publish(&[("5.0", Some("tessera-no-such-package"))]);
    let out = repo.ensure();
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("failed twice"), "{log}");
    assert!(repo.installed_version().is_none());
}
