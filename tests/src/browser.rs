//! Headless Chromium for the browser tests (tests/tests/browser/), driven
//! over WebDriver with fantoccini.
//!
//! Debian's `chromium` and its matching `chromedriver` (packages `chromium`
//! and `chromium-driver`, installed by tests/run.sh) run as the test's user,
//! root included, so with `--no-sandbox`. Each [`Browser`] is one session:
//! its own chromedriver on a free port, its own Chromium profile in a fresh
//! folder, and its turn at the one browser this process runs at a time
//! (cargo runs tests on parallel threads; two Chromiums on a small shared
//! machine make each other's waits flaky). Dropping it kills chromedriver and
//! the Chromium it started, and removes the profile.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tokio::sync::{Mutex, MutexGuard};

/// Debian's Chromium (a launcher script that sources /etc/chromium.d).
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's chromedriver, built from the same source as [`CHROMIUM`], so the
/// two always match.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// A font of Debian's fonts-noto-cjk: without it Chinese shows as boxes.
const NOTO_CJK: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";

/// How long [`Browser::wait_for`] looks for an element before giving up.
pub const WAIT_LIMIT: Duration = Duration::from_secs(10);
/// How long chromedriver and Chromium get to start (the machine is shared).
const START_LIMIT: Duration = Duration::from_secs(30);
const POLL_EVERY: Duration = Duration::from_millis(50);
/// How long a session waits for the browser to be free: the other browser
/// tests of this binary, run one after another, finish well within it.
const TURN_LIMIT: Duration = Duration::from_secs(600);

/// The browser this process runs: one session at a time, whichever runtime
/// (each `#[tokio::test]` has its own) asks. A tokio mutex does not poison,
/// so a test that panics hands the turn on as it unwinds.
static TURN: Mutex<()> = Mutex::const_new(());

/// The window a session opens with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowSize {
    /// A 1280 × 900 window (headless Chromium leaves 1280 × 757 of it to
    /// the page).
    Desktop,
    /// A 390 × 844 viewport (CSS pixels, 2 device pixels each), touch: a
    /// phone held upright.
    Mobile,
}

impl WindowSize {
    fn pixels(self) -> (u32, u32) {
        match self {
            WindowSize::Desktop => (1280, 900),
            WindowSize::Mobile => (390, 844),
        }
    }
}

/// How a session is opened: JavaScript on, a desktop window and Chromium's
/// own languages (en-US on Debian's) unless told.
#[derive(Debug, Clone, Copy)]
pub struct BrowserOptions {
    pub javascript: bool,
    pub window: WindowSize,
    /// What the browser asks pages for (`Accept-Language`, and
    /// `navigator.languages`), e.g. `"zh-CN"`; `None` leaves Chromium's.
    pub languages: Option<&'static str>,
}

impl Default for BrowserOptions {
    fn default() -> Self {
        Self {
            javascript: true,
            window: WindowSize::Desktop,
            languages: None,
        }
    }
}

impl BrowserOptions {
    /// Pages run no script, as for a visitor who switched it off. (The
    /// WebDriver commands themselves still work.)
    pub fn without_javascript(mut self) -> Self {
        self.javascript = false;
        self
    }

    pub fn mobile(mut self) -> Self {
        self.window = WindowSize::Mobile;
        self
    }

    /// The languages the browser asks for, most wanted first, as Chromium's
    /// setting takes them: `"zh-CN"`, or `"zh-CN,en-US"`. (`--lang` alone
    /// does not change `Accept-Language` on Linux; this preference does.)
    pub fn languages(mut self, languages: &'static str) -> Self {
        self.languages = Some(languages);
        self
    }

    /// The `goog:chromeOptions` capabilities for a profile in `profile`.
    fn capabilities(&self, profile: &Path) -> fantoccini::wd::Capabilities {
        let (width, height) = self.window.pixels();
        let mut chrome = json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new",
                // Root cannot use Chromium's sandbox; the pages are our own.
                "--no-sandbox",
                "--disable-gpu",
                // /dev/shm is small in containers; Chromium crashes when it fills.
                "--disable-dev-shm-usage",
                format!("--window-size={width},{height}"),
                format!("--user-data-dir={}", profile.display()),
            ],
        });
        if self.window == WindowSize::Mobile {
            // Chromium keeps a window at least 500 pixels wide, so a phone's
            // viewport comes from emulating its screen (and touch).
            chrome["mobileEmulation"] =
                json!({"deviceMetrics": {"width": width, "height": height, "pixelRatio": 2.0, "touch": true}});
        }
        let mut prefs = serde_json::Map::new();
        if !self.javascript {
            // A managed content setting: 2 blocks scripts on every site.
            prefs.insert("profile.managed_default_content_settings.javascript".into(), json!(2));
        }
        if let Some(languages) = self.languages {
            prefs.insert("intl.accept_languages".into(), json!(languages));
            let first = languages.split(',').next().unwrap_or(languages);
            if let Some(args) = chrome["args"].as_array_mut() {
                args.push(json!(format!("--lang={first}")));
            }
        }
        if !prefs.is_empty() {
            chrome["prefs"] = Value::Object(prefs);
        }
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": chrome,
            // A page that never loads fails the test in 30 s, not WebDriver's 300.
            "timeouts": {"pageLoad": 30_000, "script": 30_000},
        });
        match capabilities {
            Value::Object(map) => map,
            _ => unreachable!("built as an object"),
        }
    }
}

/// The workspace's target folder: `CARGO_TARGET_DIR` when it is an absolute
/// path, else the folder above the test binary's profile folder
/// (target/<profile>/deps/<test binary>), as for [`crate::leadhost_bin`].
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from)
        && dir.is_absolute()
    {
        return dir;
    }
    let exe = std::env::current_exe().expect("current exe");
    let mut dir = exe.parent().expect("exe dir").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.pop();
    dir
}

/// Where [`Browser::screenshot`] writes: target/screenshots/.
pub fn screenshot_dir() -> PathBuf {
    target_dir().join("screenshots")
}

/// Fails with what to do when Chromium or chromedriver is missing: the
/// browser tests must not pass by not running.
fn check_installed() -> anyhow::Result<()> {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|path| !Path::new(path).exists())
        .collect();
    if missing.is_empty() {
        if !Path::new(NOTO_CJK).exists() {
            // The tests still test; only their screenshots suffer.
            eprintln!("warning: {NOTO_CJK} is missing, so Chinese shows as boxes in screenshots: run tests/run.sh");
        }
        return Ok(());
    }
    let ci = if std::env::var("CI").as_deref() == Ok("true") {
        " (CI=true: the CI job must run tests/run.sh, which installs them, before the tests)"
    } else {
        ""
    };
    bail!(
        "the browser tests need headless Chromium, and {} is missing{ci}: run `bash tests/run.sh`, \
         which installs Debian's chromium, chromium-driver and fonts-noto-cjk, or install them with \
         `apt-get install --no-install-recommends chromium chromium-driver fonts-noto-cjk`",
        missing.join(" and ")
    )
}

/// A chromedriver process in a process group of its own, which the Chromium
/// it starts joins: killing the group ends both. (Killing chromedriver alone
/// leaves Chromium running.)
struct Chromedriver {
    child: Child,
    url: String,
    /// Its `--log-path`: each command and Chromium's start.
    log: PathBuf,
}

impl Chromedriver {
    /// Starts chromedriver on a free port and waits until it is ready. A port
    /// taken between choosing and binding it makes chromedriver exit; then it
    /// tries another.
    async fn start(dir: &Path) -> anyhow::Result<Self> {
        let mut failures = Vec::new();
        for attempt in 1..=3 {
            let port = free_port()?;
            let log = dir.join(format!("chromedriver-{attempt}.log"));
            let output = File::create(dir.join(format!("chromedriver-{attempt}.out")))?;
            let child = Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .stdin(Stdio::null())
                .stdout(output.try_clone()?)
                .stderr(output)
                .process_group(0)
                .spawn()
                .with_context(|| format!("starting {CHROMEDRIVER}"))?;
            let mut driver = Chromedriver {
                child,
                url: format!("http://127.0.0.1:{port}"),
                log,
            };
            match driver.wait_until_ready().await {
                Ok(()) => return Ok(driver),
                Err(e) => failures.push(format!("on port {port}: {e:#}\n{}", driver.log_tail(20))),
            }
        }
        bail!("chromedriver did not start:\n{}", failures.join("\n"))
    }

    /// Polls `/status` until it says ready (bounded by [`START_LIMIT`]).
    async fn wait_until_ready(&mut self) -> anyhow::Result<()> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
        let deadline = Instant::now() + START_LIMIT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("chromedriver exited with {status}");
            }
            if let Ok(res) = http.get(format!("{}/status", self.url)).send().await
                && let Ok(body) = res.json::<Value>().await
                && body["value"]["ready"] == true
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("its /status did not say ready within {START_LIMIT:?}");
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    fn log_tail(&self, lines: usize) -> String {
        tail(&std::fs::read_to_string(&self.log).unwrap_or_default(), lines)
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The group's id is chromedriver's pid (process_group(0) above).
        let Ok(pgid) = libc::pid_t::try_from(self.child.id()) else {
            return;
        };
        // SAFETY: killpg only sends a signal, to the group we created.
        unsafe { libc::killpg(pgid, libc::SIGKILL) };
        let _ = self.child.wait();
        // Chromium's processes take a moment to die; the profile folder is
        // removed next, and the next session should start on a quiet
        // machine. Signal 0 asks whether any member is left.
        let deadline = Instant::now() + Duration::from_secs(5);
        // SAFETY: signal 0 sends nothing.
        while unsafe { libc::killpg(pgid, 0) } == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// One headless Chromium session. Fields drop in order: the WebDriver
/// client, then chromedriver and its Chromium, then their folder, and last
/// the turn, so the next session starts after this one is gone.
pub struct Browser {
    client: Client,
    driver: Chromedriver,
    /// The profile (`profile/`) and chromedriver's logs.
    _dir: tempfile::TempDir,
    _turn: MutexGuard<'static, ()>,
}

impl Browser {
    /// Waits for this process's browser to be free, then opens a session.
    /// So a test must close (or drop) one `Browser` before opening the next.
    pub async fn open(options: BrowserOptions) -> anyhow::Result<Self> {
        check_installed()?;
        let Ok(turn) = tokio::time::timeout(TURN_LIMIT, TURN.lock()).await else {
            bail!(
                "waited {TURN_LIMIT:?} for the browser: does this test still hold another `Browser`? \
                 (one session at a time per test process)"
            );
        };
        let dir = tempfile::Builder::new().prefix("leadhost-browser-").tempdir()?;
        let profile = dir.path().join("profile");
        std::fs::create_dir(&profile)?;
        let driver = Chromedriver::start(dir.path()).await?;
        // chromedriver is on 127.0.0.1 over plain HTTP: no TLS connector.
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let mut builder = ClientBuilder::new(connector);
        builder.capabilities(options.capabilities(&profile));
        let connecting = builder.connect(&driver.url);
        let client = match tokio::time::timeout(START_LIMIT, connecting).await {
            Ok(Ok(client)) => client,
            outcome => {
                let why = match outcome {
                    Ok(Err(e)) => e.to_string(),
                    _ => format!("no session within {START_LIMIT:?}"),
                };
                bail!(
                    "Chromium did not start: {why}\nchromedriver's log ends:\n{}",
                    driver.log_tail(30)
                );
            }
        };
        Ok(Self {
            client,
            driver,
            _dir: dir,
            _turn: turn,
        })
    }

    /// The fantoccini client, for what the helpers here do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.client.goto(url).await.with_context(|| format!("opening {url}"))
    }

    pub async fn current_url(&self) -> anyhow::Result<String> {
        Ok(self.client.current_url().await?.to_string())
    }

    /// The page's HTML as the browser has it now.
    pub async fn source(&self) -> anyhow::Result<String> {
        Ok(self.client.source().await?)
    }

    /// The first element matching `css`, polling until it is there; after
    /// [`WAIT_LIMIT`] an error naming the selector and the page.
    pub async fn wait_for(&self, css: &str) -> anyhow::Result<Element> {
        let found = self
            .client
            .wait()
            .at_most(WAIT_LIMIT)
            .every(POLL_EVERY)
            .for_element(Locator::Css(css))
            .await;
        match found {
            Ok(element) => Ok(element),
            Err(CmdError::WaitTimeout) => {
                let url = self.current_url().await.unwrap_or_else(|e| format!("(no URL: {e})"));
                bail!("no element matches `{css}` after {WAIT_LIMIT:?} on {url}")
            }
            Err(e) => Err(e).with_context(|| format!("looking for `{css}`")),
        }
    }

    /// Whether an element matches `css` now (no waiting).
    pub async fn is_present(&self, css: &str) -> anyhow::Result<bool> {
        Ok(!self.client.find_all(Locator::Css(css)).await?.is_empty())
    }

    /// Types `text` into the field matching `css`, replacing what it held.
    pub async fn fill(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let field = self.wait_for(css).await?;
        field.clear().await.with_context(|| format!("clearing `{css}`"))?;
        field
            .send_keys(text)
            .await
            .with_context(|| format!("typing into `{css}`"))
    }

    /// Clicks the element matching `css`. Chromedriver usually waits for a
    /// navigation the click starts, but not always: where the next page
    /// matters, [`Self::click_to_next_page`].
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        let element = self.wait_for(css).await?;
        element.click().await.with_context(|| format!("clicking `{css}`"))
    }

    /// Clicks what leaves this page (a form's submit button, a link) and
    /// returns once the next page has loaded. A click's return does not
    /// promise that: an element of the old page may still answer a lookup,
    /// so a check on what both pages show would read the old one. The old
    /// page is marked before the click; the next page is the one without the
    /// mark whose document is complete.
    pub async fn click_to_next_page(&self, css: &str) -> anyhow::Result<()> {
        const MARK: &str = "window.__leadhostLeaving = true; return true;";
        const ARRIVED: &str = "return window.__leadhostLeaving !== true && document.readyState === 'complete';";
        self.client.execute(MARK, vec![]).await.context("marking the page")?;
        self.click(css).await?;
        let deadline = Instant::now() + WAIT_LIMIT;
        loop {
            // A script run while the page is being replaced may fail; the
            // next poll asks the new one.
            if let Ok(Value::Bool(true)) = self.client.execute(ARRIVED, vec![]).await {
                return Ok(());
            }
            if Instant::now() > deadline {
                let url = self.current_url().await.unwrap_or_else(|e| format!("(no URL: {e})"));
                bail!("clicking `{css}` did not lead to a new page after {WAIT_LIMIT:?}; on {url}");
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// The visible text of the element matching `css`. An element found on
    /// a page that was then replaced (a click's navigation still landing)
    /// is looked up again on the new page.
    pub async fn text_of(&self, css: &str) -> anyhow::Result<String> {
        for _ in 0..STALE_RETRIES {
            match self.wait_for(css).await?.text().await {
                Err(error) if is_stale(&error) => continue,
                other => return Ok(other?),
            }
        }
        anyhow::bail!("`{css}` kept going stale: the page kept changing")
    }

    /// Waits until the element matching `css` reads `expected` (a submit's
    /// next page may still be landing when the click returns); after
    /// [`WAIT_LIMIT`] an error with the text it had.
    pub async fn wait_for_text(&self, css: &str, expected: &str) -> anyhow::Result<()> {
        let deadline = std::time::Instant::now() + WAIT_LIMIT;
        loop {
            let text = self.text_of(css).await?;
            if text == expected {
                return Ok(());
            }
            if std::time::Instant::now() > deadline {
                bail!("`{css}` reads {text:?}, not {expected:?}, after {WAIT_LIMIT:?}");
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// An attribute of the element matching `css`, as written in the page
    /// (looked up again, as [`Self::text_of`], if its page was replaced).
    pub async fn attr_of(&self, css: &str, name: &str) -> anyhow::Result<Option<String>> {
        for _ in 0..STALE_RETRIES {
            match self.wait_for(css).await?.attr(name).await {
                Err(error) if is_stale(&error) => continue,
                other => return Ok(other?),
            }
        }
        anyhow::bail!("`{css}` kept going stale: the page kept changing")
    }

    /// Saves what the window shows as target/screenshots/<name>.png.
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<PathBuf> {
        anyhow::ensure!(
            !name.is_empty() && !name.contains(['/', '\\']),
            "a screenshot name is a file name: {name:?}"
        );
        let png = self.client.screenshot().await?;
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// Ends the session (Chromium quits), then stops chromedriver. Dropping
    /// a `Browser` also cleans up, by killing them.
    pub async fn close(self) -> anyhow::Result<()> {
        let closed = self.client.clone().close().await;
        drop(self);
        Ok(closed?)
    }

    /// The end of chromedriver's log, for a failing test's message.
    pub fn driver_log_tail(&self, lines: usize) -> String {
        self.driver.log_tail(lines)
    }
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser")
            .field("chromedriver", &self.driver.url)
            .finish()
    }
}

/// Times an element is looked up again after its page was replaced.
const STALE_RETRIES: usize = 20;

/// Whether WebDriver said the element belongs to a page no longer shown.
fn is_stale(error: &fantoccini::error::CmdError) -> bool {
    error.to_string().contains("stale element")
}
