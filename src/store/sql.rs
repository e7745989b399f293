//! SQL text shared by the store modules: multi-row `VALUES` lists and how many rows one statement
//! carries. Its own module so that the modules writing rows (alerts, KPIs, traffic, assets) do not
//! import each other for it.

/// Rows per INSERT statement. Small on purpose: SQLite looks up a named (`$N`) parameter by a linear
/// scan, so binding costs grow with the square of the parameters per statement (500 rows = 7,500
/// parameters took 4.3 s for 14,000 alerts; 32 rows make it a small fraction of that).
pub(crate) const ROWS_PER_INSERT: usize = 32;
/// Rows per upsert statement (fewer parameters per row than an alert).
pub(crate) const ROWS_PER_UPSERT: usize = 64;

/// `($1, …, $k), ($k+1, …)` for `rows` rows of `per_row` parameters, each row followed by `tail`.
pub(crate) fn values_clause(rows: usize, per_row: usize, tail: &str) -> String {
    let mut out = String::with_capacity(rows * per_row * 5);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..per_row {
            if c > 0 {
                out.push_str(", ");
            }
            out.push('$');
            out.push_str(&(r * per_row + c + 1).to_string());
        }
        out.push_str(tail);
        out.push(')');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_clauses_number_their_parameters_row_by_row() {
        assert_eq!(values_clause(2, 3, ""), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(values_clause(1, 2, ", 'new'"), "($1, $2, 'new')");
        assert_eq!(values_clause(0, 2, ""), "");
    }
}
