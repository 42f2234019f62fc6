//! The inspection report as JSON (`"version": 1`, the shape of issue 7).

use super::Model;

pub fn render(model: &Model<'_>) -> String {
    crate::output::written(|out| write(model, out))
}

/// Writes the report as [`render`] does, straight to `out`: on ten
/// copies of the corpus it is 50 MB, which a string would hold twice.
/// The text is serde_json's for the [`Model`], member by member, its
/// long lists rendered in parallel (see [`crate::output::pretty`]): on
/// one core, writing took a third of what `inspect` adds to `check`.
pub fn write(model: &Model<'_>, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    let mut document = crate::output::pretty::Object::begin(&mut out, 0)?;
    // In the order of the Model's fields, as its derived Serialize.
    document.field("version", &model.version)?;
    if let Some(meta) = &model.meta {
        document.field("meta", meta)?;
    }
    document.field("title", &model.title)?;
    document.list("errors", &model.errors, |x| x)?;
    document.list("notes", &model.notes, |x| x)?;
    document.list("inventory", &model.inventory, |x| x)?;
    document.list("data_stores", &model.data_stores, |x| x)?;
    document.list("exposure", &model.exposure, |x| x)?;
    document.list("clauses", &model.clauses, |x| x)?;
    document.list("suppressed", &model.suppressed, |x| x)?;
    document.list("accepted_risks", &model.accepted_risks, |x| x)?;
    document.list("checklist", &model.checklist, |x| x)?;
    document.list("systems", &model.systems, |x| x)?;
    document.list("findings", &model.findings, |x| x)?;
    document.list("undecided", &model.undecided, |x| x)?;
    if let Some(parity) = &model.parity {
        document.field("parity", parity)?;
    }
    document.end()?;
    out.write_all(b"\n")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    /// The report written member by member is serde_json's text for the
    /// model, on a tree with findings, data stores and suppressions.
    #[test]
    fn writes_what_serde_json_writes_for_the_model() {
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let (rules, errors) = crate::ruleset::RuleSet::load(&[]);
        assert!(errors.is_empty());
        let report = crate::check(&[fixtures], &rules);
        let model = super::super::build(&report, &rules, &super::super::Options::default());
        assert!(!model.findings.is_empty() && !model.data_stores.is_empty());
        let mut expected = serde_json::to_vec_pretty(&model).unwrap();
        expected.push(b'\n');
        let mut written = Vec::new();
        super::write(&model, &mut written).unwrap();
        assert_eq!(
            String::from_utf8(written).unwrap(),
            String::from_utf8(expected).unwrap()
        );
    }
}
