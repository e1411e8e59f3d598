//! `leadhost plugin new` and `leadhost plugin test`: a plugin project in
//! Rust, JavaScript or Python, made from plugins/templates (carried in the
//! binary), and the check that its build gives the expected result on its
//! sample lead.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::contract::{LeadInput, RepInput};
use super::offline::{RunRequest, run};
use super::sandbox::Limits;
use crate::domain::{PluginName, World};

/// The languages a project can be made in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Rust,
    Js,
    Python,
}

impl Language {
    fn label(self) -> &'static str {
        match self {
            Language::Rust => "Rust",
            Language::Js => "JavaScript",
            Language::Python => "Python",
        }
    }
}

/// `leadhost-plugin.json`: what `plugin test` needs to know of a project.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    name: String,
    world: World,
    language: Language,
    /// The component the build script writes.
    component: PathBuf,
}

const MANIFEST: &str = "leadhost-plugin.json";

macro_rules! template {
    ($path:literal) => {
        include_str!(concat!("../../../plugins/templates/", $path))
    };
}

const WIT_TYPES: &str = include_str!("../../../wit/leadhost-plugin@0.1.0/types.wit");
const WIT_WORLDS: &str = include_str!("../../../wit/leadhost-plugin@0.1.0/worlds.wit");

/// The files of a project: (path in the project, template).
fn files(language: Language, world: World) -> Vec<(&'static str, &'static str)> {
    let expected = match world {
        World::Scorer => template!("common/expected/scorer.json"),
        World::Router => template!("common/expected/router.json"),
        World::NurtureStep => template!("common/expected/nurture-step.json"),
    };
    let mut files = vec![
        ("README.md", template!("common/README.md")),
        (
            "sample-lead.json",
            include_str!("../../../plugins/examples/sample-lead.json"),
        ),
        ("expected.json", expected),
        ("wit/types.wit", WIT_TYPES),
        ("wit/worlds.wit", WIT_WORLDS),
    ];
    if world == World::Router {
        files.push(("sample-candidates.json", template!("common/sample-candidates.json")));
    }
    let source = match (language, world) {
        (Language::Rust, World::Scorer) => ("src/lib.rs", template!("rust/scorer.rs")),
        (Language::Rust, World::Router) => ("src/lib.rs", template!("rust/router.rs")),
        (Language::Rust, World::NurtureStep) => ("src/lib.rs", template!("rust/nurture-step.rs")),
        (Language::Js, World::Scorer) => ("plugin.js", template!("js/scorer.js")),
        (Language::Js, World::Router) => ("plugin.js", template!("js/router.js")),
        (Language::Js, World::NurtureStep) => ("plugin.js", template!("js/nurture-step.js")),
        (Language::Python, World::Scorer) => ("app.py", template!("python/scorer.py")),
        (Language::Python, World::Router) => ("app.py", template!("python/router.py")),
        (Language::Python, World::NurtureStep) => ("app.py", template!("python/nurture-step.py")),
    };
    files.push(source);
    files.extend(match language {
        Language::Rust => [
            ("Cargo.toml", template!("rust/Cargo.toml")),
            ("build.sh", template!("rust/build.sh")),
            (".gitignore", template!("rust/gitignore")),
        ],
        Language::Js => [
            ("package.json", template!("js/package.json")),
            ("build.sh", template!("js/build.sh")),
            (".gitignore", template!("js/gitignore")),
        ],
        Language::Python => [
            ("requirements.txt", template!("python/requirements.txt")),
            ("build.sh", template!("python/build.sh")),
            (".gitignore", template!("python/gitignore")),
        ],
    });
    files
}

/// Writes a new project named `name` in `dir/name`; returns its folder.
pub fn new_project(dir: &Path, name: &str, language: Language, world: World) -> anyhow::Result<PathBuf> {
    let name = PluginName::parse(name).map_err(|e| anyhow::anyhow!("the project name {name:?}: {}", e.0))?;
    let name = name.as_str();
    let root = dir.join(name);
    if root.exists() {
        bail!("{} exists; choose another name or folder", root.display());
    }
    let candidates_arg = if world == World::Router {
        " --candidates sample-candidates.json"
    } else {
        ""
    };
    let fill = |text: &str| {
        text.replace("{{name}}", name)
            .replace("{{crate}}", &name.replace('-', "_"))
            .replace("{{world}}", world.as_str())
            .replace("{{lang}}", language.label())
            .replace("{{candidates_arg}}", candidates_arg)
    };
    for (path, template) in files(language, world) {
        let file = root.join(path);
        std::fs::create_dir_all(file.parent().expect("a file in the project"))?;
        std::fs::write(&file, fill(template)).with_context(|| format!("writing {}", file.display()))?;
    }
    make_executable(&root.join("build.sh"))?;
    let manifest = Manifest {
        name: name.to_owned(),
        world,
        language,
        component: PathBuf::from(format!("{name}.wasm")),
    };
    std::fs::write(root.join(MANIFEST), serde_json::to_string_pretty(&manifest)? + "\n")?;
    Ok(root)
}

#[cfg(unix)]
fn make_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Builds the project in `dir` with its build script, runs the component on
/// its sample lead, and compares the result with `expected.json`.
pub fn test_project(dir: &Path, cache_dir: Option<&Path>) -> anyhow::Result<Value> {
    let manifest_path = dir.join(MANIFEST);
    let manifest: Manifest = serde_json::from_str(
        &std::fs::read_to_string(&manifest_path).with_context(|| format!("reading {}", manifest_path.display()))?,
    )
    .with_context(|| format!("{} is not a plugin manifest", manifest_path.display()))?;
    // The build's own output goes to standard error: standard output is the
    // report.
    let built = Command::new("bash")
        .arg("build.sh")
        .current_dir(dir)
        .stdout(std::io::stderr())
        .status()
        .with_context(|| format!("running {}/build.sh", dir.display()))?;
    if !built.success() {
        bail!("{}/build.sh failed ({built})", dir.display());
    }
    let read_json = |file: &str| -> anyhow::Result<Value> {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
    };
    let lead = LeadInput::read(read_json("sample-lead.json")?).map_err(|e| anyhow::anyhow!(e))?;
    let candidates: Vec<RepInput> = match dir.join("sample-candidates.json").exists() {
        true => serde_json::from_value(read_json("sample-candidates.json")?)?,
        false => Vec::new(),
    };
    let config = match dir.join("config.json").exists() {
        true => read_json("config.json")?.to_string(),
        false => "{}".to_owned(),
    };
    let expected = read_json("expected.json")?;
    let report = run(RunRequest {
        file: &dir.join(&manifest.component),
        world: Some(manifest.world),
        lead,
        config,
        candidates,
        limits: Limits::default(),
        cache_dir,
    })?;
    if let Some(error) = report.get("error") {
        bail!("the plugin failed on sample-lead.json: {error}\n{report:#}");
    }
    if report["result"] != expected {
        bail!(
            "the result on sample-lead.json differs from expected.json\n  expected: {expected}\n  got:      {}",
            report["result"]
        );
    }
    Ok(json!({
        "project": manifest.name,
        "world": manifest.world,
        "language": manifest.language,
        "passed": true,
        "result": report["result"],
        "fuel_used": report["fuel_used"],
        "duration_us": report["duration_us"],
    }))
}
