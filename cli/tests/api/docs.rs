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

/// The `(file, anchor)` targets of `[text](target)` links that are not web addresses; a link
/// to an anchor of its own file has an empty file.
fn relative_links(text: &str) -> Vec<(String, Option<String>)> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .map(str::trim)
        .filter(|t| !t.is_empty() && !t.contains("://") && !t.starts_with("mailto:"))
        .map(|t| match t.split_once('#') {
            Some((file, anchor)) => (file.to_owned(), Some(anchor.to_owned())),
            None => (t.to_owned(), None),
        })
        .collect()
}

/// The anchors GitHub gives a Markdown file's headings: lower case, punctuation dropped,
/// spaces as hyphens (code fences skipped, so a shell comment is no heading).
fn anchors(text: &str) -> Vec<String> {
    let mut in_fence = false;
    let mut found = vec![];
    for line in text.lines() {
        if line.starts_with("```") {
            in_fence = !in_fence;
        }
        if in_fence || !line.starts_with('#') {
            continue;
        }
        let heading = line.trim_start_matches('#').trim().to_lowercase();
        let slug: String = heading
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        found.push(slug);
    }
    found
}

#[test]
fn every_relative_link_in_the_markdown_resolves_inside_the_repository() {
    let root = root().canonicalize().unwrap();
    let files = markdown();
    assert!(files.iter().any(|f| f.ends_with("README.md")), "{files:?}");
    let mut broken = vec![];
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (link, anchor) in relative_links(&text) {
            let target = if link.is_empty() { file.clone() } else { file.parent().unwrap().join(&link) };
            let found = match target.canonicalize() {
                Ok(found) if found.starts_with(&root) => found,
                _ => {
                    broken.push(format!("{}: {link}", file.display()));
                    continue;
                }
            };
            let Some(anchor) = anchor else { continue };
            let headings = std::fs::read_to_string(&found).map(|t| anchors(&t)).unwrap_or_default();
            if !headings.contains(&anchor) {
                broken.push(format!("{}: {link}#{anchor} (no such heading)", file.display()));
            }
        }
    }
    assert!(broken.is_empty(), "links that do not resolve inside the repository:\n{}", broken.join("\n"));
}

#[test]
fn the_readme_is_a_front_door_not_the_whole_house() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(lines < 250, "README.md has {lines} lines; move what a newcomer does not need first into docs/");
    assert!(readme.lines().take(6).any(|l| l.starts_with("scripts/dev")), "the first command is not at the top");
    assert!(readme.lines().take(6).any(|l| l.starts_with("scripts/test")), "the test command is not at the top");
}

#[test]
fn the_reference_names_every_audit_action() {
    let reference = std::fs::read_to_string(root().join("docs/reference.md")).unwrap();
    let missing: Vec<_> = identity_shared::models::AuditAction::ALL
        .iter()
        .map(|a| a.name())
        .filter(|name| !reference.contains(&format!("`{name}`")))
        .collect();
    assert!(missing.is_empty(), "audit actions docs/reference.md does not name: {missing:?}");
}

#[test]
fn the_walkthrough_lives_in_the_guide() {
    let guide = std::fs::read_to_string(root().join("docs/guide.md")).unwrap();
    assert!(guide.matches("<!-- walkthrough:start -->").count() >= 6, "scripts/walkthrough reads docs/guide.md");
    let script = std::fs::read_to_string(root().join("scripts/walkthrough")).unwrap();
    assert!(script.contains("docs/guide.md"), "scripts/walkthrough does not read the guide");
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

/// Source, scripts and docs cite the repository's own design, not sections of a brief a reader
/// of the repository does not have. Released migrations are left as they were applied.
#[test]
fn no_file_cites_the_brief_by_section() {
    let root = root();
    let mut found = vec![];
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !name.starts_with('.') && !["target", "node_modules", "migrations"].contains(&name.as_str()) {
                    dirs.push(path);
                }
            } else if let Ok(text) = std::fs::read_to_string(&path)
                && (text.contains(concat!("DESIGN", " §")) || text.contains(concat!("DESIGN", ".md")))
            {
                found.push(path.display().to_string());
            }
        }
    }
    assert!(found.is_empty(), "files citing the brief: {found:?}");
}
