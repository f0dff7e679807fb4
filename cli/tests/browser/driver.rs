//! Headless Chromium driven over WebDriver: a chromedriver process per test on a free port, a
//! fresh profile, and screenshots into `.local/screenshots/`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// Where Debian's chromium-driver puts chromedriver (CHROMEDRIVER overrides it).
fn chromedriver() -> PathBuf {
    let path = std::env::var_os("CHROMEDRIVER").map(PathBuf::from).unwrap_or_else(|| "/usr/bin/chromedriver".into());
    assert!(
        path.exists(),
        "{} is missing: install Debian's chromium and chromium-driver (scripts/test does)",
        path.display()
    );
    path
}

fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

/// Where the screenshots go: git-ignored, beside the other local state.
pub fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.local/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One browser: its driver process, its profile and the WebDriver session.
pub struct Browser {
    pub client: Client,
    driver: Child,
    profile: PathBuf,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a fresh profile, `width` x `height`.
    pub async fn start(width: u32, height: u32) -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new(chromedriver())
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not listen on {port}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = std::env::temp_dir().join(format!("identity-chromium-{}", uuid::Uuid::now_v7()));
        // Without the network flags Chromium dials Google's hosts at start, which this
        // machine's closed network refuses.
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--hide-scrollbars".into(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.display()),
        ];
        let capabilities = json!({"goog:chromeOptions": {"binary": chromium(), "args": args}});
        let Value::Object(capabilities) = capabilities else { unreachable!() };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&url)
            .await
            .expect("a WebDriver session in headless Chromium");
        Browser { client, driver, profile }
    }

    /// Opens a URL and waits for its page.
    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.expect("the page opens");
    }

    /// The page's main heading.
    pub async fn heading(&self) -> String {
        self.client.find(Locator::Css("h1")).await.expect("an h1").text().await.unwrap()
    }

    /// Waits until the main heading contains `text` (after a form's submit navigates).
    pub async fn wait_for_heading(&self, text: &str) {
        let started = Instant::now();
        loop {
            if let Ok(h1) = self.client.find(Locator::Css("h1")).await
                && h1.text().await.is_ok_and(|t| t.contains(text))
            {
                return;
            }
            let now = self.client.find(Locator::Css("h1")).await.ok();
            let seen = match now {
                Some(h1) => h1.text().await.unwrap_or_default(),
                None => String::new(),
            };
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "waited for a heading with '{text}', the page says '{seen}'"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until an element matching `css` is on the page (after a form's submit navigates
    /// to a page with the same heading).
    pub async fn wait_for(&self, css: &str) {
        let started = Instant::now();
        while self.client.find(Locator::Css(css)).await.is_err() {
            let at = self.client.current_url().await.map(|u| u.to_string()).unwrap_or_default();
            assert!(started.elapsed() < Duration::from_secs(15), "waited for {css} at {at}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Types into the field with this CSS selector.
    pub async fn fill(&self, css: &str, text: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .send_keys(text)
            .await
            .unwrap();
    }

    /// Clicks the element with this CSS selector.
    pub async fn click(&self, css: &str) {
        self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}")).click().await.unwrap();
    }

    /// The page's text as a reader sees it.
    pub async fn text(&self) -> String {
        self.client.find(Locator::Css("body")).await.unwrap().text().await.unwrap()
    }

    /// Saves a screenshot of the window as `.local/screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
    }

    /// The id of the element that has the keyboard's focus.
    pub async fn focused(&self) -> Value {
        self.run("return document.activeElement.id").await
    }

    /// Sends keys to whatever has the focus, as a keyboard would.
    pub async fn press(&self, keys: &str) {
        self.client.active_element().await.unwrap().send_keys(keys).await.unwrap();
    }

    /// Runs a script in the page and returns its result.
    pub async fn run(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.expect("the script runs")
    }

    /// Ends the session and the driver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}
