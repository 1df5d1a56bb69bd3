//! Made-up reports in the layouts of the real ones, one or more per
//! parser. The unit tests of each parser module read them, and
//! `tests/reports.rs` includes this file (`#[path]`) to run its property
//! tests (truncation, mangling, invalid UTF-8) on them, so those run even
//! without the fixture folder. Plain text only: no code, no imports.

/// A made-up 7-series `report_utilization` in Vivado's layout.
pub const UTILIZATION: &str = "\
Copyright 1986-2030 Example
------------------------------------------
| Tool Version : Vivado v.2030.1 (lin64) Build 1
| Command      : report_utilization -file u.rpt
| Design       : toy_top
| Device       : xc7a35tcpg236-1
| Design State : Routed
------------------------------------------

Utilization Design Information

Table of Contents
-----------------
1. Slice Logic
2. Memory
3. DSP
4. IO and GT Specific

1. Slice Logic
--------------

+-------------------------+------+-------+-----------+-------+
|        Site Type        | Used | Fixed | Available | Util% |
+-------------------------+------+-------+-----------+-------+
| Slice LUTs              |  120 |     0 |     20800 |  0.58 |
|   LUT as Logic          |  118 |     0 |     20800 |  0.57 |
| Slice Registers         |    9 |     0 |     41600 |  0.02 |
|   Register as AND/OR    |    1 |     0 |     41600 | <0.01 |
+-------------------------+------+-------+-----------+-------+


2. Memory
---------

+----------------+------+-------+-----------+-------+
|    Site Type   | Used | Fixed | Available | Util% |
+----------------+------+-------+-----------+-------+
| Block RAM Tile |  1.5 |     0 |        50 |  3.00 |
|   RAMB18       |    1 |     0 |       100 |  1.00 |
+----------------+------+-------+-----------+-------+


3. DSP
------

+-----------+------+-------+-----------+-------+
| Site Type | Used | Fixed | Available | Util% |
+-----------+------+-------+-----------+-------+
| DSPs      |    2 |     0 |        90 |  2.22 |
+-----------+------+-------+-----------+-------+


4. IO and GT Specific
---------------------

+------------+------+-------+-----------+--------+
|  Site Type | Used | Fixed | Available |  Util% |
+------------+------+-------+-----------+--------+
| Bonded IOB |  150 |     0 |       106 | 141.51 |
+------------+------+-------+-----------+--------+
";

/// A made-up `report_timing_summary` in Vivado's layout (three clocks, one
/// generated, one without a period).
pub const TIMING: &str = "\
Copyright 2030 Example
-------------------------------------
| Tool Version : Vivado v.2030.1 (lin64)
| Command      : report_timing_summary -file t.rpt
| Design       : toy_top
| Device       : 7a35t-cpg236
-------------------------------------

Timing Summary Report

------------------------------------------------------------------------------------------------
| Design Timing Summary
| ---------------------
------------------------------------------------------------------------------------------------

    WNS(ns)      TNS(ns)  TNS Failing Endpoints  TNS Total Endpoints      WHS(ns)      THS(ns)  THS Failing Endpoints  THS Total Endpoints     WPWS(ns)     TPWS(ns)  TPWS Failing Endpoints  TPWS Total Endpoints
    -------      -------  ---------------------  -------------------      -------      -------  ---------------------  -------------------     --------     --------  ----------------------  --------------------
      0.512        0.000                      0                   40        0.101        0.000                      0                   40        4.500        0.000                       0                    21


All user specified timing constraints are met.


------------------------------------------------------------------------------------------------
| Clock Summary
| -------------
------------------------------------------------------------------------------------------------

Clock           Waveform(ns)       Period(ns)      Frequency(MHz)
-----           ------------       ----------      --------------
sys_clk         {0.000 5.000}      10.000          100.000
  clk_div       {0.000 10.000}     20.000          50.000
virt                                                


------------------------------------------------------------------------------------------------
| Intra Clock Table
| -----------------
------------------------------------------------------------------------------------------------

Clock             WNS(ns)      TNS(ns)  TNS Failing Endpoints  TNS Total Endpoints      WHS(ns)      THS(ns)  THS Failing Endpoints  THS Total Endpoints     WPWS(ns)     TPWS(ns)  TPWS Failing Endpoints  TPWS Total Endpoints
-----             -------      -------  ---------------------  -------------------      -------      -------  ---------------------  -------------------     --------     --------  ----------------------  --------------------
sys_clk             0.512        0.000                      0                   40        0.101        0.000                      0                   40        4.500        0.000                       0                    21
";

/// A made-up `report_power` in Vivado's layout.
pub const POWER: &str = "\
Copyright 2030 Example
--------------------------------------
| Tool Version     : Vivado v.2030.1 (lin64)
| Command          : report_power -file p.rpt
| Design           : toy_top
| Device           : xc7a35tcpg236-1
| Design State     : routed
--------------------------------------

Power Report

Table of Contents
-----------------
1. Summary
1.1 On-Chip Components
1.2 Power Supply Summary
2. Settings
2.1 Clock Constraints
3. Detailed Reports
3.1 By Hierarchy

1. Summary
----------

+--------------------------+----------------------------+
| Total On-Chip Power (W)  | 9.500 (Something exceeded) |
| Design Power Budget (W)  | Unspecified*               |
| Dynamic (W)              | 9.000                      |
| Device Static (W)        | 0.500                      |
| Max Ambient (C)          | 40.0                       |
| Junction Temperature (C) | 85.5                       |
| Confidence Level         | Medium                     |
+--------------------------+----------------------------+


1.1 On-Chip Components
----------------------

+----------------+-----------+----------+-----------+-----------------+
| On-Chip        | Power (W) | Used     | Available | Utilization (%) |
+----------------+-----------+----------+-----------+-----------------+
| Slice Logic    |     0.100 |      300 |       --- |             --- |
|   LUT as Logic |    <0.001 |       10 |     20800 |           <0.01 |
| Block RAM      |     0.200 |      2.5 |        50 |            5.00 |
| Static Power   |     0.500 |          |           |                 |
|   PS Static    |     0.200 |          |           |                 |
|   PL Static    |     0.300 |          |           |                 |
| Total          |     9.500 |          |           |                 |
+----------------+-----------+----------+-----------+-----------------+


1.2 Power Supply Summary
------------------------

+--------+-------------+-----------+-------------+------------+
| Source | Voltage (V) | Total (A) | Dynamic (A) | Static (A) |
+--------+-------------+-----------+-------------+------------+
| Vccint |       1.000 |     0.250 |       0.200 |      0.050 |
+--------+-------------+-----------+-------------+------------+


2. Settings
-----------

2.1 Clock Constraints
---------------------

+---------+--------+-----------------+
| Clock   | Domain | Constraint (ns) |
+---------+--------+-----------------+
| sys_clk | clk    |            10.0 |
+---------+--------+-----------------+


3. Detailed Reports
-------------------

3.1 By Hierarchy
----------------

+----------+-----------+
| Name     | Power (W) |
+----------+-----------+
| toy_top  |     9.000 |
|   core   |     0.300 |
+----------+-----------+
";

/// A made-up Vivado HLS `csynth.rpt` (the classic layout).
pub const HLS_CLASSIC: &str = "\n\
================================================================
== Vivado HLS Report for 'toy'
================================================================
* Date:           today

* Version:        2030.1 (Build 1)
* Product family: artix7
* Target device:  xc7a35tcpg236-1


================================================================
== Performance Estimates
================================================================
+ Timing (ns): 
    * Summary: 
    +--------+-------+----------+------------+
    |  Clock | Target| Estimated| Uncertainty|
    +--------+-------+----------+------------+
    |ap_clk  |  4.00 |     3.500|        0.50|
    +--------+-------+----------+------------+

+ Latency (clock cycles): 
    * Summary: 
    +-----+-----+-----+-----+----------+
    |  Latency  |  Interval | Pipeline |
    | min | max | min | max |   Type   |
    +-----+-----+-----+-----+----------+
    |    7|    ?|    8|    9| function |
    +-----+-----+-----+-----+----------+

================================================================
== Utilization Estimates
================================================================
* Summary: 
+-----------------+---------+-------+-------+------+
|       Name      | BRAM_18K| DSP48E|   FF  |  LUT |
+-----------------+---------+-------+-------+------+
|Expression       |        -|      -|      0|    12|
+-----------------+---------+-------+-------+------+
|Total            |        2|      -|     30|    40|
+-----------------+---------+-------+-------+------+
|Available        |      100|     90|  41600| 20800|
+-----------------+---------+-------+-------+------+
|Utilization (%)  |        2|      0|     ~0|    ~0|
+-----------------+---------+-------+-------+------+
";

/// A made-up Vitis HLS 2022 `csynth.rpt` (the Synthesis Summary layout).
pub const HLS_SUMMARY: &str = "\
================================================================
== Synthesis Summary Report of 'toy'
================================================================
+ General Information: 
    * Version:        2030.1 (Build 1)
    * Target device:  xck26-sfvc784-2LV-c
    
+ Performance & Resource Estimates: 
    
    PS: '+' for module; 'o' for loop; '*' for dataflow
    +--------+------+---------+-----------+---------+----------+------+----+------------+-----+
    | Modules| Issue|         | Latency   |         |          |      |    |            |     |
    | & Loops| Type |  Slack  | (cycles)  | Interval| Pipelined| BRAM | DSP|     LUT    | URAM|
    +--------+------+---------+-----------+---------+----------+------+----+------------+-----+
    |+ toy*  |     -|     1.50|         12|       10|  dataflow|     2|   -|  300 (~0%) |    -|
    | o loop |     -|     2.00|         10|        1|       yes|     -|   -|           -|    -|
    +--------+------+---------+-----------+---------+----------+------+----+------------+-----+
";

/// A made-up `_csynth.xml`.
pub const HLS_XML: &str = "<?xml version=\"1.0\"?>\n<!-- made up -->\n<profile>\n<ReportVersion><Version>2030.1</Version></ReportVersion>\n<UserAssignments>\n<unit>ns</unit>\n<Part>xc7a35t</Part>\n<TopModelName>t&amp;y</TopModelName>\n<TargetClockPeriod>5.00</TargetClockPeriod>\n</UserAssignments>\n<PerformanceEstimates>\n<PipelineType>none</PipelineType>\n<SummaryOfTimingAnalysis><unit>ns</unit><EstimatedClockPeriod>4.1</EstimatedClockPeriod></SummaryOfTimingAnalysis>\n<SummaryOfOverallLatency><Best-caseLatency>3</Best-caseLatency><Worst-caseLatency>undef</Worst-caseLatency><Worst-caseRealTimeLatency>1.5 us</Worst-caseRealTimeLatency></SummaryOfOverallLatency>\n</PerformanceEstimates>\n<AreaEstimates><Resources><DSP48E>4</DSP48E><FF>10</FF><Empty/></Resources></AreaEstimates>\n</profile>\n";
