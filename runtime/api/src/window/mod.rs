//! Windows (being written).
