//! The repository stands alone: every relative link in its Markdown resolves to a file in it,
//! and no file points at anything beside the checkout.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace").to_path_buf()
}

/// The Markdown the repository ships: the top level, docs/ and events/.
fn markdown() -> Vec<PathBuf> {
    let root = root();
    let mut files = vec![];
    for dir in [root.clone(), root.join("docs"), root.join("events")] {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "md") {
                files.push(path);
            }
        }
    }
    files
}

/// The targets of `[text](target)` links that are neither web addresses nor anchors.
fn relative_links(text: &str) -> Vec<String> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .map(|target| target.split('#').next().unwrap_or_default().trim().to_owned())
        .filter(|t| !t.is_empty() && !t.contains("://") && !t.starts_with("mailto:"))
        .collect()
}

#[test]
fn every_relative_link_in_the_markdown_resolves_inside_the_repository() {
    let root = root().canonicalize().unwrap();
    let files = markdown();
    assert!(files.iter().any(|f| f.ends_with("README.md")), "{files:?}");
    let mut broken = vec![];
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for link in relative_links(&text) {
            let target = file.parent().unwrap().join(&link);
            match target.canonicalize() {
                Ok(found) if found.starts_with(&root) => {}
                _ => broken.push(format!("{}: {link}", file.display())),
            }
        }
    }
    assert!(broken.is_empty(), "links that do not resolve inside the repository:\n{}", broken.join("\n"));
}

#[test]
fn nothing_points_outside_the_checkout() {
    let mut found = vec![];
    for file in markdown() {
        if std::fs::read_to_string(&file).unwrap().contains("../shared") {
            found.push(file.display().to_string());
        }
    }
    assert!(found.is_empty(), "files naming ../shared: {found:?}");
}
