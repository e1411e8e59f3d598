//! A view as CSV. A cell a spreadsheet would read as a formula (starting
//! with `=`, `+`, `-` or `@`, or a tab or carriage return that some read
//! past) is neutralised with a leading `'`: sources and campaigns come from
//! whoever filled a form or built a link.

use serde_json::Value;

use super::Table;

/// A view's CSV file: its name (the view and the range) and its bytes.
pub fn view_file(view: &str, query: &super::DashboardQuery, table: &Table) -> Result<(String, Vec<u8>), csv::Error> {
    Ok((format!("{view}-{}-{}.csv", query.from, query.to), to_csv(table)?))
}

/// The table as CSV: a header row, then its rows.
pub fn to_csv(table: &Table) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(&table.columns)?;
    for row in &table.rows {
        writer.write_record(row.iter().map(cell))?;
    }
    writer.into_inner().map_err(|e| e.into_error().into())
}

fn cell(value: &Value) -> String {
    let text = match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    neutralise(text)
}

/// `=SUM(A1)` -> `'=SUM(A1)`; anything else as it is.
fn neutralise(text: String) -> String {
    match text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        true => format!("'{text}"),
        false => text,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn formulas_are_neutralised_and_quoting_is_the_crates() {
        let table = Table {
            columns: vec!["source", "leads"],
            rows: vec![
                vec![json!("=HYPERLINK(\"x\")"), json!(3)],
                vec![json!("a,b"), Value::Null],
                vec![json!("@me"), json!(0.25)],
            ],
        };
        let text = String::from_utf8(to_csv(&table).unwrap()).unwrap();
        assert_eq!(
            text,
            "source,leads\n\"'=HYPERLINK(\"\"x\"\")\",3\n\"a,b\",\n'@me,0.25\n"
        );
    }
}
