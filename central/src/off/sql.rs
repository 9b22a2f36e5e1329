//! A reader of the MySQL `INSERT` statements that Open Food Facts dumps are made of.
//!
//! It reads statements one after another from the bytes of a file and hands back each
//! `INSERT` as its table, its column list and its rows of values; anything else (`CREATE
//! TABLE`, `SET`, `LOCK TABLES`) is skipped whole, quotes respected. String literals follow the
//! MySQL Reference Manual, section 11.1.1 "String Literals": single or double quotes, a quote
//! doubled inside its own kind of literal, and the backslash escapes of its table 11.1 (`\0 \'
//! \" \b \n \r \t \Z \\`, `\%` and `\_` kept with their backslash, any other `\x` read as
//! `x`). Text stays bytes here; the caller decodes the columns it needs as UTF-8.
//!
//! A statement that breaks these rules (an unterminated string, a missing comma, no column
//! list) comes back as [`Statement::Malformed`] with the reason and how many rows it had begun;
//! reading then resumes at the next line that starts with `INSERT`, so one broken statement
//! never swallows the rest of the file.

use std::borrow::Cow;

/// One value of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// `NULL`, in any letter case.
    Null,
    /// A quoted string, unescaped.
    Text(Cow<'a, [u8]>),
    /// An unquoted token: a number or a keyword such as `TRUE`.
    Bare(&'a [u8]),
}

/// One row of an `INSERT`, with the byte offset where it starts (for messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row<'a> {
    pub offset: usize,
    pub values: Vec<Value<'a>>,
}

/// A well-formed `INSERT` statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Insert<'a> {
    /// The table, lower case, without any database qualifier or backquotes.
    pub table: String,
    /// The column list, lower case, in order.
    pub columns: Vec<String>,
    pub rows: Vec<Row<'a>>,
}

/// What one statement of the file turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement<'a> {
    Insert(Insert<'a>),
    /// Any statement but an `INSERT`; skipped.
    Other {
        offset: usize,
    },
    /// A statement that cannot be read. `rows_begun` is how many rows an `INSERT` had started
    /// (at least 1 for any broken `INSERT`); 0 for anything else.
    Malformed {
        offset: usize,
        rows_begun: usize,
        reason: String,
    },
}

/// The statements of a file, in order.
pub struct Statements<'a> {
    src: &'a [u8],
    pos: usize,
}

impl<'a> Statements<'a> {
    pub fn new(src: &'a [u8]) -> Statements<'a> {
        Statements { src, pos: 0 }
    }
}

impl<'a> Iterator for Statements<'a> {
    type Item = Statement<'a>;

    fn next(&mut self) -> Option<Statement<'a>> {
        loop {
            if let Err(reason) = self.skip_space() {
                let offset = self.pos;
                self.pos = self.src.len();
                return Some(Statement::Malformed {
                    offset,
                    rows_begun: 0,
                    reason,
                });
            }
            match self.src.get(self.pos) {
                None => return None,
                // An empty statement.
                Some(b';') => self.pos += 1,
                Some(_) => break,
            }
        }
        let start = self.pos;
        if !self.keyword("INSERT") {
            return Some(match self.skip_statement() {
                Ok(()) => Statement::Other { offset: start },
                Err(reason) => {
                    self.resync(start);
                    Statement::Malformed {
                        offset: start,
                        rows_begun: 0,
                        reason,
                    }
                }
            });
        }
        let mut rows_begun = 0;
        match self.insert(&mut rows_begun) {
            Ok(insert) => Some(Statement::Insert(insert)),
            Err(reason) => {
                self.resync(start);
                Some(Statement::Malformed {
                    offset: start,
                    rows_begun: rows_begun.max(1),
                    reason,
                })
            }
        }
    }
}

type Step<T> = Result<T, String>;

impl<'a> Statements<'a> {
    /// The rest of an `INSERT` whose keyword was just read.
    fn insert(&mut self, rows_begun: &mut usize) -> Step<Insert<'a>> {
        self.skip_space()?;
        for modifier in ["LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY"] {
            if self.keyword(modifier) {
                self.skip_space()?;
                break;
            }
        }
        if self.keyword("IGNORE") {
            self.skip_space()?;
        }
        if self.keyword("INTO") {
            self.skip_space()?;
        }
        let mut table = self.identifier()?;
        // `database.table`: keep the table.
        while self.src.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            table = self.identifier()?;
        }
        self.skip_space()?;
        if self.src.get(self.pos) != Some(&b'(') {
            return Err(format!("INSERT INTO {table} has no column list"));
        }
        self.pos += 1;
        let mut columns = Vec::new();
        loop {
            self.skip_space()?;
            columns.push(self.identifier()?.to_ascii_lowercase());
            self.skip_space()?;
            match self.src.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b')') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.expected("',' or ')' in the column list")),
            }
        }
        self.skip_space()?;
        if !(self.keyword("VALUES") || self.keyword("VALUE")) {
            return Err(self.expected("VALUES"));
        }
        let mut rows = Vec::new();
        loop {
            self.skip_space()?;
            if self.src.get(self.pos) != Some(&b'(') {
                return Err(self.expected("'(' to open a row"));
            }
            *rows_begun += 1;
            let offset = self.pos;
            self.pos += 1;
            let values = self.row_values(columns.len())?;
            rows.push(Row { offset, values });
            self.skip_space()?;
            match self.src.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b';') => {
                    self.pos += 1;
                    break;
                }
                // The last statement of a file may lack its semicolon.
                None => break,
                _ => return Err(self.expected("',' or ';' after a row")),
            }
        }
        Ok(Insert {
            table: table.to_ascii_lowercase(),
            columns,
            rows,
        })
    }

    /// The values of a row whose `(` was just read, through its `)`.
    fn row_values(&mut self, capacity: usize) -> Step<Vec<Value<'a>>> {
        let mut values = Vec::with_capacity(capacity);
        self.skip_space()?;
        if self.src.get(self.pos) == Some(&b')') {
            self.pos += 1;
            return Ok(values);
        }
        loop {
            self.skip_space()?;
            let value = match self.src.get(self.pos) {
                Some(&quote @ (b'\'' | b'"')) => Value::Text(self.adjacent_strings(quote)?),
                Some(_) => self.bare()?,
                None => return Err("the file ends inside a row".into()),
            };
            values.push(value);
            self.skip_space()?;
            match self.src.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b')') => {
                    self.pos += 1;
                    return Ok(values);
                }
                _ => return Err(self.expected("',' or ')' after a value")),
            }
        }
    }

    /// A string literal and any literals right after it, which MySQL joins into one
    /// (`'a' 'b'` is `'ab'`).
    fn adjacent_strings(&mut self, quote: u8) -> Step<Cow<'a, [u8]>> {
        let mut text = self.string(quote)?;
        loop {
            self.skip_space()?;
            match self.src.get(self.pos) {
                Some(&next @ (b'\'' | b'"')) => {
                    let more = self.string(next)?;
                    text.to_mut().extend_from_slice(&more);
                }
                _ => return Ok(text),
            }
        }
    }

    /// A quoted string starting at `self.pos`, unescaped; borrowed when it has no escapes.
    fn string(&mut self, quote: u8) -> Step<Cow<'a, [u8]>> {
        let src = self.src;
        let start = self.pos + 1;
        let mut i = start;
        let mut segment = start;
        let mut owned: Option<Vec<u8>> = None;
        loop {
            match src.get(i) {
                None => {
                    return Err(format!(
                        "a string opened at byte {} is never closed",
                        start - 1
                    ));
                }
                Some(b'\\') => {
                    let Some(&escaped) = src.get(i + 1) else {
                        return Err("the file ends inside a string escape".into());
                    };
                    let buf = owned.get_or_insert_with(Vec::new);
                    buf.extend_from_slice(&src[segment..i]);
                    match escaped {
                        b'0' => buf.push(0),
                        b'b' => buf.push(0x08),
                        b'n' => buf.push(b'\n'),
                        b'r' => buf.push(b'\r'),
                        b't' => buf.push(b'\t'),
                        b'Z' => buf.push(0x1a),
                        b'%' | b'_' => buf.extend_from_slice(&[b'\\', escaped]),
                        other => buf.push(other),
                    }
                    i += 2;
                    segment = i;
                }
                Some(&c) if c == quote => {
                    if src.get(i + 1) == Some(&quote) {
                        let buf = owned.get_or_insert_with(Vec::new);
                        buf.extend_from_slice(&src[segment..=i]);
                        i += 2;
                        segment = i;
                        continue;
                    }
                    self.pos = i + 1;
                    return Ok(match owned {
                        Some(mut buf) => {
                            buf.extend_from_slice(&src[segment..i]);
                            Cow::Owned(buf)
                        }
                        None => Cow::Borrowed(&src[start..i]),
                    });
                }
                Some(_) => i += 1,
            }
        }
    }

    /// An unquoted value: `NULL` or a token such as a number.
    fn bare(&mut self) -> Step<Value<'a>> {
        let start = self.pos;
        while let Some(&c) = self.src.get(self.pos) {
            if c == b',' || c == b')' || c.is_ascii_whitespace() {
                break;
            }
            if matches!(c, b'\'' | b'"' | b'(' | b';') {
                return Err(format!(
                    "unexpected {:?} inside an unquoted value",
                    char::from(c)
                ));
            }
            self.pos += 1;
        }
        let token = &self.src[start..self.pos];
        if token.is_empty() {
            return Err(self.expected("a value"));
        }
        Ok(if token.eq_ignore_ascii_case(b"NULL") {
            Value::Null
        } else {
            Value::Bare(token)
        })
    }

    /// A table or column name, bare or in backquotes (a doubled backquote is one backquote).
    fn identifier(&mut self) -> Step<String> {
        let src = self.src;
        if src.get(self.pos) == Some(&b'`') {
            let mut name = Vec::new();
            let mut i = self.pos + 1;
            loop {
                match src.get(i) {
                    None => return Err("a `quoted` name is never closed".into()),
                    Some(b'`') if src.get(i + 1) == Some(&b'`') => {
                        name.push(b'`');
                        i += 2;
                    }
                    Some(b'`') => break,
                    Some(&c) => {
                        name.push(c);
                        i += 1;
                    }
                }
            }
            self.pos = i + 1;
            return String::from_utf8(name).map_err(|_| "a name is not UTF-8".into());
        }
        let start = self.pos;
        while self
            .src
            .get(self.pos)
            .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'$')
        {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.expected("a table or column name"));
        }
        Ok(String::from_utf8_lossy(&src[start..self.pos]).into_owned())
    }

    /// Consumes `word` (any letter case) when it comes next as a whole word.
    fn keyword(&mut self, word: &str) -> bool {
        let end = self.pos + word.len();
        let matches = self
            .src
            .get(self.pos..end)
            .is_some_and(|w| w.eq_ignore_ascii_case(word.as_bytes()))
            && !self
                .src
                .get(end)
                .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_');
        if matches {
            self.pos = end;
        }
        matches
    }

    /// Skips whitespace and comments: `-- ` and `#` to the end of the line, `/* … */`
    /// (MySQL's `/*! … */` version comments included: they never hold rows).
    fn skip_space(&mut self) -> Step<()> {
        loop {
            match self.src.get(self.pos..) {
                Some([c, ..]) if c.is_ascii_whitespace() => self.pos += 1,
                Some([b'-', b'-', c, ..]) if c.is_ascii_whitespace() => self.skip_line(),
                Some([b'-', b'-']) => self.pos += 2,
                Some([b'#', ..]) => self.skip_line(),
                Some([b'/', b'*', ..]) => {
                    let body = &self.src[self.pos + 2..];
                    let Some(end) = body.windows(2).position(|w| w == b"*/") else {
                        return Err("a /* comment is never closed".into());
                    };
                    self.pos += 2 + end + 2;
                }
                _ => return Ok(()),
            }
        }
    }

    fn skip_line(&mut self) {
        let rest = &self.src[self.pos..];
        self.pos += rest
            .iter()
            .position(|&c| c == b'\n')
            .map_or(rest.len(), |n| n + 1);
    }

    /// Skips a statement that is not an `INSERT`, through its `;`, respecting quotes.
    fn skip_statement(&mut self) -> Step<()> {
        while let Some(&c) = self.src.get(self.pos) {
            match c {
                b';' => {
                    self.pos += 1;
                    return Ok(());
                }
                b'\'' | b'"' => {
                    self.string(c)?;
                }
                b'`' => {
                    self.identifier()?;
                }
                b'-' | b'#' | b'/' => {
                    let before = self.pos;
                    self.skip_space()?;
                    if self.pos == before {
                        self.pos += 1;
                    }
                }
                _ => self.pos += 1,
            }
        }
        Ok(())
    }

    /// After a broken statement that began at `start`: continue at the next line, after the
    /// one where it began, that starts with `INSERT`.
    fn resync(&mut self, start: usize) {
        let mut i = start;
        while let Some(newline) = self.src[i..].iter().position(|&c| c == b'\n') {
            i += newline + 1;
            let line = &self.src[i..];
            let indent = line
                .iter()
                .take_while(|&&c| c == b' ' || c == b'\t')
                .count();
            if line
                .get(indent..indent + 6)
                .is_some_and(|w| w.eq_ignore_ascii_case(b"INSERT"))
            {
                self.pos = i;
                return;
            }
        }
        self.pos = self.src.len();
    }

    fn expected(&self, what: &str) -> String {
        match self.src.get(self.pos) {
            None => format!("expected {what} but the file ended"),
            Some(_) => {
                let end = (self.pos + 20).min(self.src.len());
                let found = String::from_utf8_lossy(&self.src[self.pos..end]);
                format!("expected {what} at byte {}, found {found:?}", self.pos)
            }
        }
    }
}

/// The 1-based line of byte `offset` in `src`.
pub fn line_of(src: &[u8], offset: usize) -> usize {
    src[..offset.min(src.len())]
        .iter()
        .filter(|&&c| c == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statements(sql: &str) -> Vec<Statement<'_>> {
        Statements::new(sql.as_bytes()).collect()
    }

    fn text(value: &Value<'_>) -> String {
        match value {
            Value::Text(bytes) => String::from_utf8(bytes.to_vec()).unwrap(),
            other => panic!("expected a string, got {other:?}"),
        }
    }

    fn only_insert<'a>(parsed: &'a [Statement<'a>]) -> &'a Insert<'a> {
        match parsed {
            [Statement::Insert(insert)] => insert,
            other => panic!("expected one INSERT, got {other:?}"),
        }
    }

    #[test]
    fn backslash_and_doubled_quote_escapes_are_unescaped() {
        let sql = concat!(
            "INSERT INTO product (a, b, c, d, e) VALUES ",
            r#"('Pistou d\'ail', 'It''s', 'a\\b\nc', "say ""hi"" \"there\"", '100\%');"#
        );
        let parsed = statements(sql);
        let row = &only_insert(&parsed).rows[0];
        let texts: Vec<String> = row.values.iter().map(text).collect();
        assert_eq!(
            texts,
            [
                "Pistou d'ail",
                "It's",
                "a\\b\nc",
                "say \"hi\" \"there\"",
                "100\\%"
            ]
        );
    }

    #[test]
    fn strings_without_escapes_are_borrowed_and_multilingual_text_survives() {
        let sql = "INSERT INTO product (a, b) VALUES ('Vitória crackers', '黒糖 ビスケット');";
        let parsed = statements(sql);
        let row = &only_insert(&parsed).rows[0];
        assert!(matches!(row.values[0], Value::Text(Cow::Borrowed(_))));
        assert_eq!(text(&row.values[0]), "Vitória crackers");
        assert_eq!(text(&row.values[1]), "黒糖 ビスケット");
    }

    #[test]
    fn null_numbers_and_several_rows_are_read() {
        let sql = "insert into `db`.`Product` (`Barcode_Id`, x) values (NULL, -1.5), ('7', null);";
        let parsed = statements(sql);
        let insert = only_insert(&parsed);
        assert_eq!(insert.table, "product");
        assert_eq!(insert.columns, ["barcode_id", "x"]);
        assert_eq!(insert.rows.len(), 2);
        assert_eq!(insert.rows[0].values, [Value::Null, Value::Bare(b"-1.5")]);
        assert_eq!(insert.rows[1].values[1], Value::Null);
    }

    #[test]
    fn adjacent_string_literals_join_as_in_mysql() {
        let parsed = statements("INSERT INTO product (a) VALUES ('Ben' \"'s\" ' jam');");
        assert_eq!(text(&only_insert(&parsed).rows[0].values[0]), "Ben's jam");
    }

    #[test]
    fn a_short_row_keeps_its_true_value_count() {
        let sql = "INSERT INTO product (a, b, c, d) VALUES ('1', 'x', '7');";
        let parsed = statements(sql);
        let insert = only_insert(&parsed);
        assert_eq!(insert.columns.len(), 4);
        assert_eq!(
            insert.rows[0].values.len(),
            3,
            "a short row must not be padded or shifted"
        );
    }

    #[test]
    fn other_statements_and_comments_are_skipped() {
        let sql = "-- dump\n/* header; with a semicolon */\n\
                   CREATE TABLE product (\n  e enum('1','0;') NOT NULL\n);\n\
                   # note\nINSERT INTO product (a) VALUES ('1');\n";
        let parsed = statements(sql);
        assert!(matches!(parsed[0], Statement::Other { .. }), "{parsed:?}");
        assert!(matches!(parsed[1], Statement::Insert(_)), "{parsed:?}");
        assert_eq!(parsed.len(), 2);
    }

    #[test]
    fn an_unbalanced_quote_is_malformed_and_reading_resumes_at_the_next_insert() {
        // The quote after "broken" is missing, so the string runs into the next statement.
        let sql = "INSERT INTO product (a, b) VALUES ('1', 'broken);\n\n\
                   INSERT INTO product (a, b) VALUES ('2', 'fine');\n";
        let parsed = statements(sql);
        assert_eq!(parsed.len(), 2, "{parsed:?}");
        let Statement::Malformed {
            rows_begun, reason, ..
        } = &parsed[0]
        else {
            panic!("expected a malformed statement, got {:?}", parsed[0]);
        };
        assert_eq!(*rows_begun, 1);
        assert!(
            reason.starts_with("expected ',' or ')' after a value"),
            "{reason}"
        );
        assert_eq!(text(&only_insert(&parsed[1..]).rows[0].values[1]), "fine");
    }

    #[test]
    fn a_string_still_open_at_the_end_of_the_file_is_malformed() {
        let parsed = statements("INSERT INTO product (a) VALUES ('oops);\n");
        let [
            Statement::Malformed {
                rows_begun: 1,
                reason,
                ..
            },
        ] = parsed.as_slice()
        else {
            panic!("expected one malformed statement, got {parsed:?}");
        };
        assert_eq!(reason, "a string opened at byte 32 is never closed");
    }

    #[test]
    fn missing_commas_and_column_lists_are_malformed_with_the_reason() {
        let parsed = statements("INSERT INTO product VALUES ('1');");
        let Statement::Malformed {
            reason, rows_begun, ..
        } = &parsed[0]
        else {
            panic!()
        };
        assert_eq!(reason, "INSERT INTO product has no column list");
        assert_eq!(*rows_begun, 1);

        let parsed = statements("INSERT INTO product (a, b) VALUES ('1' 7), ('2', 'y');");
        let Statement::Malformed {
            reason, rows_begun, ..
        } = &parsed[0]
        else {
            panic!()
        };
        assert!(
            reason.starts_with("expected ',' or ')' after a value"),
            "{reason}"
        );
        assert_eq!(*rows_begun, 1);
    }

    #[test]
    fn line_numbers_count_from_one() {
        assert_eq!(line_of(b"a\nb\nc", 0), 1);
        assert_eq!(line_of(b"a\nb\nc", 4), 3);
    }
}
