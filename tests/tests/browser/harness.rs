//! The harness's options do what they say (the form page and workspace
//! tests rely on them).

use leadhost_tests::browser::{Browser, BrowserOptions, screenshot_dir};

/// A page that retitles itself when its script runs, laid out at the
/// device's width as the form pages are (a phone lays out a page without
/// that meta tag 980 pixels wide).
const SCRIPTED_PAGE: &str = "data:text/html,<meta name=viewport content=width=device-width><title>static</title>\
                             <script>document.title='scripted'</script>";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_runs_by_default_in_a_desktop_window() -> anyhow::Result<()> {
    let browser = Browser::open(BrowserOptions::default()).await?;
    browser.goto(SCRIPTED_PAGE).await?;
    assert_eq!(browser.client().title().await?, "scripted");
    let width = browser.client().execute("return window.innerWidth", vec![]).await?;
    assert_eq!(width, 1280);
    let shot = browser.screenshot("harness-desktop").await?;
    assert_eq!(shot, screenshot_dir().join("harness-desktop.png"));
    assert!(
        std::fs::read(&shot)?.starts_with(b"\x89PNG"),
        "{} is a PNG",
        shot.display()
    );
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_can_be_off_in_a_mobile_window() -> anyhow::Result<()> {
    let browser = Browser::open(BrowserOptions::default().without_javascript().mobile()).await?;
    browser.goto(SCRIPTED_PAGE).await?;
    assert_eq!(
        browser.client().title().await?,
        "static",
        "the page's script did not run"
    );
    // WebDriver's own scripts still run: that is how the width is read.
    let width = browser.client().execute("return window.innerWidth", vec![]).await?;
    assert_eq!(width, 390);
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_asks_for_the_languages_it_is_given() -> anyhow::Result<()> {
    let browser = Browser::open(BrowserOptions::default().languages("zh-CN,en-US")).await?;
    browser.goto(SCRIPTED_PAGE).await?;
    let languages = browser.client().execute("return navigator.languages", vec![]).await?;
    assert_eq!(languages[0], "zh-CN", "{languages}");
    assert_eq!(languages[1], "en-US", "{languages}");
    browser.close().await
}
