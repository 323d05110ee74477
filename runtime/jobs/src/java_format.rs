//! Formats numbers the way Java's `toString` does, so printed results equal Flink's.

/// Java's `Double.toString`: the shortest representation that round-trips, always with a
/// fractional part, in scientific notation below 10^-3 and from 10^7 on.
pub fn java_double(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    let magnitude = value.abs();
    if value == 0.0 || (1e-3..1e7).contains(&magnitude) {
        // Rust's Debug form is the shortest round-trip form and keeps a ".0".
        return format!("{value:?}");
    }
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let mantissa = if mantissa.contains('.') {
        mantissa.to_owned()
    } else {
        format!("{mantissa}.0")
    };
    format!("{mantissa}E{exponent}")
}

#[cfg(test)]
mod tests {
    use super::java_double;

    #[test]
    fn matches_java_double_to_string() {
        assert_eq!(java_double(3.0), "3.0");
        assert_eq!(java_double(7.0 / 3.0), "2.3333333333333335");
        assert_eq!(java_double(11.0 / 3.0), "3.6666666666666665");
        assert_eq!(java_double(2.4), "2.4");
        assert_eq!(java_double(1e7), "1.0E7");
        assert_eq!(java_double(12_345_678.9), "1.23456789E7");
        assert_eq!(java_double(0.0001), "1.0E-4");
        assert_eq!(java_double(-0.5), "-0.5");
    }
}
