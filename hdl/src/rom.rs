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
