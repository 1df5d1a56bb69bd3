//! Table ROMs from quant's generated tables: the one place ROM contents
//! come from, so the RTL and the integer model read the same numbers.

use hwformer_quant::tables::LookupTable;
use rust_hdl::prelude::*;

/// A 256-entry, 16-bit combinational ROM holding `table` (missing entries
/// read 0).
pub fn rom_from_table(table: &LookupTable) -> ROM<Bits<16>, 8> {
    assert!(
        table.entries.len() <= 256,
        "table {} has more than 256 entries",
        table.name
    );
    ROM::new(
        table
            .entries
            .iter()
            .enumerate()
            .map(|(i, &v)| (bits::<8>(i as u64), bits::<16>(u64::from(v))))
            .collect(),
    )
}

/// A 256-entry, 16-bit combinational ROM of signed `values` (two's
/// complement; missing entries read 0), for tables quant derives from its
/// generated ones (e.g. `Gelu::rounded_corrections`).
pub fn rom_from_signed(name: &str, values: &[i64]) -> ROM<Bits<16>, 8> {
    assert!(values.len() <= 256, "table {name} has more than 256 entries");
    assert!(
        values.iter().all(|v| i16::try_from(*v).is_ok()),
        "table {name} has a value beyond 16 bits"
    );
    ROM::new(
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| (bits::<8>(i as u64), bits::<16>(u64::from(v as i16 as u16))))
            .collect(),
    )
}
