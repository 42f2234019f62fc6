//! Container manifests in YAML: every `.yaml`/`.yml` file is parsed once
//! and handed to the front-end that recognises it — a compose file
//! (`compose.rs`) or Kubernetes objects (`kubernetes.rs`). Other YAML (CI
//! configurations, rule files, Helm values) yields nothing and no error.
//!
//! Not YAML until rendered, so skipped without a word: Helm chart
//! templates (`templates/` below a folder holding `Chart.yaml`), and files
//! that do not parse but carry template markers (`{{`, `{%`).

use std::path::Path;

use crate::error::FileError;
use crate::model::Resource;
use crate::parse::{compose, kubernetes, yaml};
use crate::source::SourceFile;

/// Lowers a YAML file: Kubernetes objects (recognised by `apiVersion` and
/// `kind`) or a compose file's services and networks. Anything else
/// yields nothing. A syntax error is reported with its position; the
/// documents before it are still lowered. A compose file's `.env` and
/// override are read where `lowering` allows.
pub fn lower_yaml(
    file_index: usize,
    source: &SourceFile,
    lowering: crate::Lowering<'_>,
) -> (Vec<Resource>, Vec<FileError>) {
    let (resources, errors, _) = lower_yaml_noting(file_index, source, lowering);
    (resources, errors)
}

/// As [`lower_yaml`], with a note when the file looks like
/// infrastructure provcheck does not read as it is: a Helm chart
/// template, a kustomization, a CloudFormation template. Silence would
/// read as "checked and clean".
pub fn lower_yaml_noting(
    file_index: usize,
    source: &SourceFile,
    lowering: crate::Lowering<'_>,
) -> (Vec<Resource>, Vec<FileError>, Option<FileError>) {
    let note = |message: &str| Some(FileError::new(source.path(), None, message));
    if is_helm_template(source.path()) {
        return (
            Vec::new(),
            Vec::new(),
            note(
                "skipped: a Helm chart template is not YAML until rendered; render the chart \
                 with `helm template` and check the output",
            ),
        );
    }
    let (documents, error) = yaml::parse_partial(source);
    let mut errors = Vec::new();
    if let Some(error) = error {
        if !is_template_text(&source.text) {
            errors.push(error);
        }
    }
    // A Kubernetes object is never a compose file, whatever its name.
    let objects = documents.iter().any(|d| kubernetes::is_object(&d.value));
    if !objects && compose::is_compose(source.path(), &documents) {
        let (resources, mut more) = compose::lower(file_index, source, &documents[0], lowering);
        errors.append(&mut more);
        return (resources, errors, None);
    }
    let resources: Vec<Resource> = documents
        .iter()
        .enumerate()
        .flat_map(|(i, document)| kubernetes::lower(file_index, source, document, i + 1))
        .collect();
    let skipped = if is_kustomization(source.path()) {
        note(
            "skipped: a kustomization's patches and generators are not applied; render it with \
             `kustomize build` and check the output (the files it lists are checked as they are)",
        )
    } else if resources.is_empty() && documents.iter().any(|d| is_cloudformation(&d.value)) {
        note("skipped: CloudFormation templates are not supported; nothing in this one is checked")
    } else {
        None
    };
    (resources, errors, skipped)
}

/// `kustomization.yaml`, `kustomization.yml` or `Kustomization`.
fn is_kustomization(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
        matches!(
            n,
            "kustomization.yaml" | "kustomization.yml" | "Kustomization"
        )
    })
}

/// A CloudFormation template: `AWSTemplateFormatVersion`, or `Resources`
/// whose entries have an `AWS::` type.
fn is_cloudformation(value: &serde_json::Value) -> bool {
    value.get("AWSTemplateFormatVersion").is_some()
        || value
            .get("Resources")
            .and_then(serde_json::Value::as_object)
            .is_some_and(|resources| {
                resources.values().any(|r| {
                    r.get("Type")
                        .and_then(serde_json::Value::as_str)
                        .is_some_and(|t| t.starts_with("AWS::"))
                })
            })
}

/// A Helm chart template: below a `templates/` folder whose parent holds
/// the chart's `Chart.yaml`.
pub fn is_helm_template(path: &Path) -> bool {
    let mut dir = path.parent();
    while let Some(d) = dir {
        if d.file_name().is_some_and(|n| n == "templates") {
            let chart = d.parent().unwrap_or(Path::new(""));
            let chart = if chart.as_os_str().is_empty() {
                Path::new(".")
            } else {
                chart
            };
            if chart.join("Chart.yaml").is_file() || chart.join("Chart.yml").is_file() {
                return true;
            }
        }
        dir = d.parent();
    }
    false
}

/// Text with Go or Jinja template markers, which is not YAML until a tool
/// renders it.
fn is_template_text(text: &str) -> bool {
    text.contains("{{") || text.contains("{%")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lower(name: &str, text: &str) -> (Vec<Resource>, Vec<FileError>) {
        let lowering = crate::Lowering {
            project: &crate::read::Project::default(),
            root: std::path::Path::new("."),
            exclude: None,
            inputs: &Default::default(),
            compose_env: &Default::default(),
            plan_source: None,
        };
        lower_yaml(0, &SourceFile::new(name, text), lowering)
    }

    #[test]
    fn other_yaml_yields_nothing_and_no_error() {
        let (resources, errors) = lower(
            "ci.yml",
            "on: push\njobs:\n  test:\n    services:\n      db: {image: postgres}\n",
        );
        assert!(resources.is_empty() && errors.is_empty());
        let (resources, errors) = lower(".pre-commit-hooks.yaml", "- id: x\n  entry: y\n");
        assert!(resources.is_empty() && errors.is_empty());
    }

    #[test]
    fn syntax_errors_keep_the_documents_before_them() {
        let text = "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\nkey: [1, 2\n";
        let (resources, errors) = lower("app.yaml", text);
        assert_eq!(resources.len(), 1);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].span.is_some());
        // A template is not YAML until rendered.
        let (_, errors) = lower("t.yaml", "metadata:\n  name: {{ .Values.name }}\n  x: [\n");
        assert!(errors.is_empty());
    }

    #[test]
    fn complex_keys_and_tags_are_valid_yaml() {
        let text = "? [a, b]\n: 1\nx: !Ref y\n";
        let (_, errors) = lower("cfn.yaml", text);
        assert!(errors.is_empty(), "{errors:?}");
    }
}
