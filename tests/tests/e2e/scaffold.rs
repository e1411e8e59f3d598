//! `leadhost plugin new` and `leadhost plugin test`: a project in each
//! language is made, built with its real toolchain (cargo, jco from npm,
//! componentize-py from PyPI) and run on its sample lead; a result that no
//! longer matches the project's expectation is reported.

use std::path::Path;
use std::process::{Command, Output};

use leadhost_tests::{leadhost_bin, shared_plugin_cache};
use serde_json::Value;

fn leadhost(args: &[&str], dir: &Path) -> Output {
    Command::new(leadhost_bin())
        .args(args)
        .current_dir(dir)
        .env("LEADHOST_PLUGIN_CACHE", shared_plugin_cache())
        .output()
        .expect("running leadhost")
}

fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

#[test]
fn a_project_in_each_language_is_made_built_and_passes_its_test() {
    let dir = tempfile::tempdir().unwrap();
    for (lang, world) in [("rust", "router"), ("js", "scorer"), ("python", "nurture-step")] {
        let name = format!("my-{lang}-{world}");
        let made = leadhost(&["plugin", "new", &name, "--lang", lang, "--world", world], dir.path());
        assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
        let project = dir.path().join(&name);
        for file in [
            "README.md",
            "build.sh",
            "sample-lead.json",
            "expected.json",
            "wit/worlds.wit",
        ] {
            assert!(project.join(file).exists(), "{lang}: no {file}");
        }

        let tested = leadhost(&["plugin", "test", project.to_str().unwrap()], dir.path());
        let stderr = String::from_utf8_lossy(&tested.stderr);
        assert!(tested.status.success(), "{lang} {world}: {stderr}");
        let passed = report(&tested);
        assert_eq!(passed["passed"], true, "{passed}");
        assert_eq!(passed["world"], world);
    }

    // The same name twice is refused, and nothing is overwritten.
    let again = leadhost(
        &["plugin", "new", "my-js-scorer", "--lang", "js", "--world", "scorer"],
        dir.path(),
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));

    // An expectation the plugin no longer meets fails the test, saying how.
    let project = dir.path().join("my-js-scorer");
    std::fs::write(project.join("expected.json"), r#"{"points": 99, "parts": []}"#).unwrap();
    let failed = leadhost(&["plugin", "test", "."], &project);
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains("differs from expected.json"), "{stderr}");
    assert!(stderr.contains("Company given"), "the result is shown: {stderr}");
}
