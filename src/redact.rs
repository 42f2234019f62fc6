//! Masking the values of the process environment in everything a report
//! prints. `TF_VAR_name` values (and the compose variables the user
//! allowed) are used for evaluation, as Terraform and docker compose use
//! them, and a message never quotes a value whose origin is the
//! environment; but a pull request writes the code those values flow
//! through, and can route one into a resource address (`for_each =
//! toset([var.db_password])`), a tag a native check quotes, or a string
//! the inspection report lists. So, as CI services mask their secret
//! variables, every occurrence of such a value of at least
//! [`MIN_MASKED`] characters is replaced by the variable's name: in
//! addresses before the rules run (fingerprints never hash a secret),
//! and in messages and attribute values once they have.

use serde_json::Value;

use crate::finding::Finding;
use crate::model::{Origin, Resource};
use crate::Report;

/// Shorter values are not masked: `true`, `prod` or `10` would be masked
/// wherever they appear. GitLab masks no variable shorter either.
pub const MIN_MASKED: usize = 8;

/// The values to mask and what replaces each.
#[derive(Debug, Clone, Default)]
pub struct Masks {
    /// `(value, replacement)`, longest values first so that one holding
    /// another is masked whole.
    values: Vec<(String, String)>,
}

impl Masks {
    /// Masks for `TF_VAR_name` values (`(name, value)` pairs) and the
    /// compose variables read from the environment.
    pub fn new<'a>(
        tf_vars: impl IntoIterator<Item = &'a (String, String)>,
        compose: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> Masks {
        let named = tf_vars
            .into_iter()
            .map(|(name, value)| (format!("TF_VAR_{name}"), value))
            .chain(
                compose
                    .into_iter()
                    .map(|(name, value)| (name.clone(), value)),
            );
        let mut values: Vec<(String, String)> = named
            .filter(|(_, value)| value.chars().count() >= MIN_MASKED)
            .map(|(name, value)| (value.clone(), format!("(masked {name})")))
            .collect();
        values.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.cmp(b)));
        values.dedup_by(|a, b| a.0 == b.0);
        Masks { values }
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Masks every value in `text`.
    pub fn mask(&self, text: &mut String) {
        for (value, replacement) in &self.values {
            if text.contains(value.as_str()) {
                *text = text.replace(value.as_str(), replacement);
            }
        }
    }

    /// Masks what identifies resources, before the rules run: addresses,
    /// references (masked alike, so they still match), module instances
    /// and the origins' messages.
    pub fn identities(&self, resources: &mut [Resource]) {
        if self.is_empty() {
            return;
        }
        for resource in resources {
            self.mask(&mut resource.address);
            resource.references.iter_mut().for_each(|r| self.mask(r));
            self.origins(&mut resource.module);
            if let Some(planned) = &mut resource.planned {
                self.mask_shared(&mut planned.message);
            }
            for (_, origins) in resource.related.iter_mut() {
                // Shared with other resources: copied only when masked.
                if origins.iter().any(|o| self.holds(&o.message)) {
                    self.origins(std::sync::Arc::make_mut(origins));
                }
            }
        }
    }

    /// Masks what the rules wrote and what the reports list: findings'
    /// messages and addresses, errors and notes, and the resources'
    /// attribute values (their identities were masked before the rules).
    pub fn report(&self, report: &mut Report) {
        if self.is_empty() {
            return;
        }
        let findings = report
            .findings
            .iter_mut()
            .chain(report.undecided.iter_mut())
            .chain(report.suppressed.iter_mut().map(|s| &mut s.finding));
        for finding in findings {
            self.finding(finding);
        }
        for error in report.errors.iter_mut().chain(report.notes.iter_mut()) {
            self.mask(&mut error.message);
        }
        for resource in &mut report.resources {
            self.value(&mut resource.attributes);
        }
    }

    fn finding(&self, finding: &mut Finding) {
        self.mask(&mut finding.message);
        self.mask(&mut finding.resource);
        self.origins(&mut finding.related);
        self.origins(&mut finding.module);
    }

    fn origins(&self, origins: &mut [Origin]) {
        origins
            .iter_mut()
            .for_each(|o| self.mask_shared(&mut o.message));
    }

    /// Whether `text` holds a value to mask.
    fn holds(&self, text: &str) -> bool {
        self.values
            .iter()
            .any(|(value, _)| text.contains(value.as_str()))
    }

    /// Masks a shared text, copying it only when it holds a value.
    fn mask_shared(&self, text: &mut std::sync::Arc<str>) {
        if self.holds(text) {
            let mut owned = text.to_string();
            self.mask(&mut owned);
            *text = owned.into();
        }
    }

    fn value(&self, value: &mut Value) {
        match value {
            Value::String(text) => self.mask(text),
            Value::Array(items) => items.iter_mut().for_each(|v| self.value(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.value(v)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_long_values_by_name_longest_first() {
        let tf = [
            ("password".to_string(), "hunter2hunter2".to_string()),
            ("inner".to_string(), "hunter2h".to_string()),
            ("region".to_string(), "eu-west".to_string()),
        ];
        let compose = std::collections::BTreeMap::from([(
            "CI_TOKEN".to_string(),
            "ghp_0123456789".to_string(),
        )]);
        let masks = Masks::new(&tf, &compose);
        let mut text = "v[\"hunter2hunter2\"] hunter2h eu-west token=ghp_0123456789".to_string();
        masks.mask(&mut text);
        assert_eq!(
            text,
            "v[\"(masked TF_VAR_password)\"] (masked TF_VAR_inner) eu-west \
             token=(masked CI_TOKEN)"
        );
        assert!(Masks::new(&[], &std::collections::BTreeMap::new()).is_empty());
    }

    #[test]
    fn a_shared_origin_list_is_copied_only_where_masked() {
        use crate::model::{Origin, Pointer, Resource};
        let tf = [("password".to_string(), "hunter2hunter2".to_string())];
        let masks = Masks::new(&tf, &std::collections::BTreeMap::new());
        let origin = |message: &str| Origin {
            file: 0,
            span: crate::source::Span::new(0, 1),
            message: message.into(),
            from_environment: false,
        };
        let secret = crate::model::shared_origins(vec![origin("key hunter2hunter2")]);
        let plain = crate::model::shared_origins(vec![origin("var.region")]);
        let mut resource = Resource::default();
        resource.related.insert(Pointer::new("/a"), secret.clone());
        resource.related.insert(Pointer::new("/b"), plain.clone());
        masks.identities(std::slice::from_mut(&mut resource));
        assert_eq!(
            &*resource.related.get("/a").unwrap()[0].message,
            "key (masked TF_VAR_password)"
        );
        // The list other resources share is left whole, and one without
        // a value to mask is not copied.
        assert_eq!(&*secret[0].message, "key hunter2hunter2");
        assert!(std::sync::Arc::ptr_eq(
            resource.related.get("/b").unwrap(),
            &plain
        ));
    }
}
