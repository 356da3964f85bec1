-- The limit: the five published marts computed straight from the raw tables, by hand, in one
-- script (DuckDB SQL). `make bench` runs it against a copy of a scale's build file from which every
-- dbt schema has been dropped (only `raw` and the dbt seeds remain: `seeds.miner_universe`, the
-- universe's fallback, and `seeds.nyse_sessions`, the exchange calendar), times it, and compares
-- every column of its marts with the published ones.
--
-- It does what the dbt models do, minus what a one-off script does not need: no views between
-- layers, no daily equity table (only each miner's last close of each month is priced: its split
-- factor and shares come from ASOF joins instead of range joins over every trading day), no
-- difficulty-epoch or halving-era tables beyond what the month ends use, no tests, no comments.
-- Numbers must come out the same: the same casts (exact DECIMAL satoshi arithmetic), the same
-- running products for split factors (the shares' rounding depends on the last bit), the same
-- tie-breaks for ranks.

-- Bitcoin's issuance schedule in closed form: supply_sat(h) = the subsidies of blocks 0..h, exact
-- integer satoshi (era e pays 5,000,000,000 >> e sat a block, 210,000 blocks an era, nothing from
-- era 33 on). CUM[e + 1] = the supply before era e.
create or replace temp macro supply_sat(h) as (
    case
        when h is null then null
        when h < 0 then cast(0 as bigint)
        else cast(
            [0, 1050000000000000, 1575000000000000, 1837500000000000, 1968750000000000,
             2034375000000000, 2067187500000000, 2083593750000000, 2091796875000000,
             2095898437500000, 2097949218750000, 2098974609270000, 2099487304530000,
             2099743652160000, 2099871825870000, 2099935912620000, 2099967955890000,
             2099983977420000, 2099991988080000, 2099995993410000, 2099997995970000,
             2099998997250000, 2099999497890000, 2099999748210000, 2099999873370000,
             2099999935950000, 2099999967240000, 2099999982780000, 2099999990550000,
             2099999994330000, 2099999996220000, 2099999997060000, 2099999997480000,
             2099999997690000][least(h // 210000, 33) + 1]
            + (h - least(h // 210000, 33) * 210000 + 1)
            * [5000000000, 2500000000, 1250000000, 625000000, 312500000, 156250000, 78125000,
               39062500, 19531250, 9765625, 4882812, 2441406, 1220703, 610351, 305175, 152587,
               76293, 38146, 19073, 9536, 4768, 2384, 1192, 596, 298, 149, 74, 37, 18, 9, 4, 2,
               1, 0][least(h // 210000, 33) + 1]
            as bigint)
    end
);
-- The subsidies of blocks first..last (0 for an empty range).
create or replace temp macro subsidy_sat_between(first_h, last_h) as (
    case when first_h is null or last_h is null then null
         when last_h < first_h then cast(0 as bigint)
         else supply_sat(last_h) - supply_sat(greatest(first_h, 0) - 1) end
);
create or replace temp macro sat_to_btc(sat) as (cast((sat) * 0.00000001 as decimal(20, 8)));

create schema if not exists marts;

-- Chain: one row per day, then per month. ----------------------------------------------------------
create or replace temp table chain_days as
with days as (
    select
        cast(date as date) as day,
        cast(date_trunc('month', cast(date as date)) as date) as month,
        cast(price_usd as double) as price_usd,
        cast(hashrate_ehs as double) as reported_hashrate_ehs,
        cast(difficulty as double) as difficulty,
        cast(block_height as bigint) as last_block_height,
        cast(blocks_mined as bigint) as blocks_mined,
        cast(fees_btc as double) as fees_btc,
        cast(supply_btc as double) as reported_supply_btc
    from raw.btc_daily
),
amounts as (
    select
        *,
        last_block_height - blocks_mined + 1 as first_block_height,
        coalesce(reported_hashrate_ehs, blocks_mined * difficulty * 4294967296 / 86400 / 1e18) as hashrate_ehs,
        reported_hashrate_ehs is null as hashrate_implied,
        sat_to_btc(subsidy_sat_between(last_block_height - blocks_mined + 1, last_block_height)) as subsidy_btc,
        cast(fees_btc as decimal(20, 8)) as fees_btc_exact
    from days
)
select
    day, month, first_block_height, last_block_height, blocks_mined, price_usd, difficulty,
    hashrate_ehs, hashrate_implied, subsidy_btc, fees_btc_exact as fees_btc, reported_supply_btc,
    cast(subsidy_btc + fees_btc_exact as double) * price_usd / nullif(hashrate_ehs, 0) as hashprice_usd_per_ehs_day,
    avg(price_usd) over trailing_7_days as price_7d_avg_usd,
    avg(hashrate_ehs) over trailing_7_days as hashrate_7d_avg_ehs
from amounts
window trailing_7_days as (order by day range between interval 6 days preceding and current row);

-- Difficulty of each 2016-block epoch the mined days touch: the block-weighted mean over the days
-- wholly inside it, else (it began on the data's last day) the start day's mean minus the previous
-- epoch's blocks.
create or replace temp table epochs as
with mined as (
    select *, first_block_height // 2016 as first_epoch, last_block_height // 2016 as last_epoch
    from chain_days where blocks_mined > 0
),
whole_days as (
    select first_epoch as epoch, sum(blocks_mined * difficulty) / sum(blocks_mined) as difficulty
    from mined where first_epoch = last_epoch group by first_epoch
),
epoch_set as (
    select first_epoch as epoch from mined union select last_epoch from mined
),
start_days as (  -- the day holding each epoch's first block
    select epoch, first_block_height, last_block_height, blocks_mined, difficulty
    from (
        select *, unnest(range((first_block_height + 2015) // 2016, last_block_height // 2016 + 1)) as epoch
        from mined
    )
),
started as (
    select epoch_set.epoch, whole_days.difficulty as whole_day_difficulty, start_days.*
    exclude (epoch)
    from epoch_set
    left join whole_days using (epoch)
    left join start_days using (epoch)
)
select
    started.epoch,
    coalesce(
        started.whole_day_difficulty,
        (started.difficulty * started.blocks_mined
         - (started.epoch * 2016 - started.first_block_height) * previous.whole_day_difficulty)
        / (started.last_block_height - started.epoch * 2016 + 1)
    ) as difficulty
from started
left join started as previous on previous.epoch = started.epoch - 1;

create or replace temp table chain_monthly as
with monthly as (
    select
        month,
        count(*) as days_with_data,
        max(day) as month_end_day,
        cast(sum(blocks_mined) as bigint) as blocks_mined,
        cast(sum(subsidy_btc) as decimal(20, 8)) as subsidy_btc,
        cast(sum(fees_btc) as decimal(20, 8)) as fees_btc,
        avg(price_usd) as btc_price_avg_usd,
        avg(hashrate_ehs) as hashrate_avg_ehs,
        count(*) filter (where hashrate_implied) as implied_hashrate_days,
        avg(difficulty) as difficulty_avg,
        avg(hashprice_usd_per_ehs_day) as hashprice_usd_per_ehs_day,
        stddev_samp(log_return) * sqrt(365) as btc_price_volatility_annualized
    from (
        select
            *,
            case when lag(day) over (order by day) = day - 1
                then ln(price_usd / lag(price_usd) over (order by day)) end as log_return
        from chain_days
    )
    group by month
),
valued as (
    select
        monthly.*,
        cast(date_diff('day', monthly.month, monthly.month + interval 1 month) as integer) as days_in_month,
        d.last_block_height as month_end_block_height,
        d.price_usd as btc_price_close_month_end_usd,
        d.price_7d_avg_usd as btc_price_month_end_usd,
        d.hashrate_7d_avg_ehs as hashrate_month_end_7d_avg_ehs,
        epochs.difficulty as difficulty_month_end,
        d.reported_supply_btc as reported_supply_month_end_btc,
        sat_to_btc(supply_sat(d.last_block_height)) as supply_month_end_btc,
        sat_to_btc(2099999997690000 - supply_sat(d.last_block_height)) as remaining_btc,
        sat_to_btc(subsidy_sat_between(d.last_block_height + 1, d.last_block_height + 210240)) as next_4y_subsidy_btc
    from monthly
    join chain_days as d on d.day = monthly.month_end_day
    left join epochs on epochs.epoch = d.last_block_height // 2016
),
complete as (
    select
        *,
        days_with_data < days_in_month as is_partial_month,
        cast(remaining_btc as double) * btc_price_month_end_usd as remaining_btc_value_usd,
        cast(next_4y_subsidy_btc as double) * btc_price_month_end_usd as next_4y_rewards_value_usd
    from valued
)
select
    c.month, c.days_in_month, c.days_with_data, c.is_partial_month, c.month_end_day,
    c.month_end_block_height, c.btc_price_avg_usd, c.btc_price_close_month_end_usd,
    c.btc_price_month_end_usd, c.hashrate_avg_ehs, c.hashrate_month_end_7d_avg_ehs,
    c.implied_hashrate_days, c.difficulty_avg, c.difficulty_month_end, c.blocks_mined,
    c.subsidy_btc, c.fees_btc,
    cast(c.subsidy_btc + c.fees_btc as decimal(20, 8)) as miner_revenue_btc,
    cast(c.fees_btc / nullif(c.subsidy_btc + c.fees_btc, 0) as double) as fee_share_of_revenue,
    c.hashprice_usd_per_ehs_day, c.supply_month_end_btc, c.reported_supply_month_end_btc,
    c.remaining_btc, c.remaining_btc_value_usd, c.next_4y_subsidy_btc, c.next_4y_rewards_value_usd,
    c.btc_price_avg_usd / p.btc_price_avg_usd - 1 as btc_price_avg_mom,
    c.btc_price_month_end_usd / p.btc_price_month_end_usd - 1 as btc_price_month_end_mom,
    c.hashrate_avg_ehs / p.hashrate_avg_ehs - 1 as hashrate_avg_mom,
    c.hashrate_month_end_7d_avg_ehs / p.hashrate_month_end_7d_avg_ehs - 1 as hashrate_month_end_mom,
    c.difficulty_avg / p.difficulty_avg - 1 as difficulty_avg_mom,
    c.difficulty_month_end / p.difficulty_month_end - 1 as difficulty_month_end_mom,
    c.hashprice_usd_per_ehs_day / p.hashprice_usd_per_ehs_day - 1 as hashprice_mom,
    c.btc_price_volatility_annualized
from complete as c
left join complete as p
    on p.month = cast(c.month - interval 1 month as date)
    and not p.is_partial_month
    and not c.is_partial_month;

-- Miners: each one's last close of each month, priced. -------------------------------------------
create or replace temp table miner_monthly as
with source_universe as (
    select ticker, name, exchange, listed_on, delisted_on from raw.miner_universe
),
universe as (
    select
        upper(trim(ticker)) as ticker,
        trim(name) as company_name,
        cast(listed_on as date) as listed_on,
        cast(delisted_on as date) as delisted_on
    from (
        select * from source_universe
        union all
        select ticker, name, exchange, listed_on, delisted_on from seeds.miner_universe
        where not exists (select 1 from source_universe)
    )
),
-- One pass over the daily closes: the last close of each (ticker, month).
last_closes as (
    select
        upper(trim(ticker)) as ticker,
        cast(date_trunc('month', cast(date as date)) as date) as month,
        max(cast(date as date)) as last_close_day,
        arg_max(cast(close as double), cast(date as date)) as close_usd
    from raw.equity_prices
    group by all
),
splits as (
    select upper(trim(ticker)) as ticker, cast(ex_date as date) as ex_date, cast(ratio as double) as ratio
    from raw.splits
),
-- Cumulative split factor from each ex-date on (a running product, as the models compute it), and
-- 1 before a ticker's first split.
factors as (
    select ticker, ex_date as valid_from,
           product(ratio) over (partition by ticker order by ex_date rows between unbounded preceding and current row)
               as cumulative_factor
    from splits
    union all
    select ticker, date '1900-01-01', 1.0 from splits group by ticker
),
factor_today as (
    select ticker, arg_max(cumulative_factor, valid_from) as factor_today from factors group by ticker
),
sessions as (
    select session as day from seeds.nyse_sessions
),
calendar as (
    select cast(date_trunc('month', day) as date) as month, max(day) as last_session from sessions group by 1
),
-- A report is in force from the NYSE's last session on or before its date (within 7 days), so a
-- Sunday quarter-end count prices the Friday close; of two reports on one session, the later.
reports as (
    select r.ticker, r.as_of, r.shares, coalesce(f.cumulative_factor, 1.0) as factor_at_report,
           case when s.day > r.as_of - 7 then s.day else r.as_of end as effective_from
    from (
        select upper(trim(ticker)) as ticker, cast(as_of as date) as as_of, cast(shares as bigint) as shares
        from raw.shares_outstanding
    ) as r
    asof left join factors as f on f.ticker = r.ticker and r.as_of >= f.valid_from
    asof left join sessions as s on r.as_of >= s.day
    qualify row_number() over (partition by r.ticker, effective_from order by r.as_of desc) = 1
),
-- A month whose data ends before its last scheduled NYSE session (seed) is partial.
members as (
    select l.*, u.company_name, u.listed_on, u.delisted_on,
           max(l.last_close_day) over (partition by l.month) as month_last_trading_day,
           coalesce(max(l.last_close_day) over (partition by l.month) < cal.last_session, false)
               as is_partial_month
    from last_closes as l
    join universe as u using (ticker)
    left join calendar as cal on cal.month = l.month
),
priced as (
    select
        m.*,
        coalesce(f.cumulative_factor, 1.0) as factor_on_day,
        coalesce(t.factor_today, 1.0) as factor_today,
        r.shares, r.factor_at_report
    from members as m
    asof left join factors as f on f.ticker = m.ticker and m.last_close_day >= f.valid_from
    left join factor_today as t on t.ticker = m.ticker
    asof left join reports as r on r.ticker = m.ticker and m.last_close_day >= r.effective_from
),
monthly as (
    select
        month,
        ticker,
        company_name,
        last_close_day,
        close_usd as close_month_end_usd,
        close_usd * factor_on_day / factor_today as split_adjusted_close_usd,
        cast(round(shares * factor_on_day / factor_at_report) as bigint) as shares_outstanding,
        last_close_day = month_last_trading_day as is_member,
        is_partial_month,
        cast(date_trunc('month', listed_on) as date) = month as listed_in_month,
        coalesce(last_close_day = max(last_close_day) over (partition by ticker)
                 and max(last_close_day) over () >= delisted_on, false) as delisted_in_month,
        exists (
            select 1 from splits as s
            where s.ticker = priced.ticker and cast(date_trunc('month', s.ex_date) as date) = priced.month
        ) as split_in_month
    from priced
),
with_returns as (
    select
        *,
        case when is_member then close_month_end_usd * shares_outstanding end as market_cap_usd,
        lag(month) over by_ticker = cast(month - interval 1 month as date)
            and lag(is_member) over by_ticker and not lag(is_partial_month) over by_ticker as previous_is_member,
        lag(case when is_member then close_month_end_usd * shares_outstanding end) over by_ticker
            as lagged_market_cap_usd,
        lag(split_adjusted_close_usd) over by_ticker as lagged_split_adjusted_close_usd
    from monthly
    window by_ticker as (partition by ticker order by month)
),
returns as (
    select
        *,
        case when previous_is_member then lagged_market_cap_usd end as previous_month_market_cap_usd,
        case when is_member and previous_is_member and not is_partial_month
            then split_adjusted_close_usd / lagged_split_adjusted_close_usd - 1 end as monthly_return
    from with_returns
)
select
    month, ticker, company_name as name, close_month_end_usd, monthly_return, shares_outstanding,
    market_cap_usd,
    case when monthly_return is not null then
        row_number() over (
            partition by month, monthly_return is null
            order by monthly_return desc, market_cap_usd desc nulls last, ticker
        )
    end as return_rank,
    is_member, is_partial_month, listed_in_month, delisted_in_month, split_in_month,
    previous_month_market_cap_usd
from returns;

-- The equity side of each month and the valuation gauges. -----------------------------------------
create or replace temp table equity_monthly as
with totals as (
    select
        month,
        bool_or(is_partial_month) as is_partial_month,
        count(case when is_member then 1 end) as miner_count,
        count(case when is_member and market_cap_usd is not null then 1 end) as members_with_market_cap,
        string_agg(ticker, ', ' order by ticker) filter (where is_member and market_cap_usd is null)
            as members_without_market_cap,
        sum(market_cap_usd) as combined_market_cap_usd,
        sum(case when previous_month_market_cap_usd is not null then market_cap_usd end) as lfl_usd,
        sum(case when market_cap_usd is not null then previous_month_market_cap_usd end) as lfl_previous_usd,
        max(return_rank) as ranked_miners,
        arg_max(ticker, return_rank) filter (where return_rank = 1) as leader_ticker,
        arg_max(monthly_return, return_rank) filter (where return_rank = 1) as leader_return,
        arg_max(ticker, return_rank) as laggard_ticker,
        arg_max(monthly_return, return_rank) as laggard_return
    from miner_monthly
    group by month
),
ratios as (
    select
        t.*,
        case when not t.is_partial_month
            then t.combined_market_cap_usd / nullif(p.combined_market_cap_usd, 0) - 1 end as combined_market_cap_mom,
        case when not t.is_partial_month
            then t.lfl_usd / nullif(t.lfl_previous_usd, 0) - 1 end as combined_market_cap_like_for_like_mom,
        t.combined_market_cap_usd / nullif(c.remaining_btc_value_usd, 0) as mcap_to_remaining_btc_ratio,
        t.combined_market_cap_usd / nullif(c.next_4y_rewards_value_usd, 0) as mcap_to_4y_rewards_ratio
    from totals as t
    left join totals as p on p.month = cast(t.month - interval 1 month as date) and not p.is_partial_month
    left join chain_monthly as c on c.month = t.month
),
running as (
    select
        *,
        max(mcap_to_remaining_btc_ratio) filter (where not is_partial_month) over to_date as mcap_to_remaining_btc_peak,
        avg(mcap_to_remaining_btc_ratio) filter (where not is_partial_month) over to_date as mcap_to_remaining_btc_avg,
        max(mcap_to_4y_rewards_ratio) filter (where not is_partial_month) over to_date as mcap_to_4y_rewards_peak,
        avg(mcap_to_4y_rewards_ratio) filter (where not is_partial_month) over to_date as mcap_to_4y_rewards_avg
    from ratios
    window to_date as (order by month rows between unbounded preceding and current row)
)
select
    month, is_partial_month, miner_count, members_with_market_cap, members_without_market_cap,
    combined_market_cap_usd, combined_market_cap_mom,
    combined_market_cap_like_for_like_mom, leader_ticker, leader_return, laggard_ticker, laggard_return,
    mcap_to_remaining_btc_ratio, mcap_to_remaining_btc_peak,
    case when mcap_to_remaining_btc_peak is not null
        then min(month) over (partition by mcap_to_remaining_btc_peak) end as mcap_to_remaining_btc_peak_month,
    mcap_to_remaining_btc_avg,
    mcap_to_4y_rewards_ratio, mcap_to_4y_rewards_peak,
    case when mcap_to_4y_rewards_peak is not null
        then min(month) over (partition by mcap_to_4y_rewards_peak) end as mcap_to_4y_rewards_peak_month,
    mcap_to_4y_rewards_avg
from running;


-- The miners' operations: each miner-month against the network, then the members' totals. --------
create or replace temp table miner_operations_monthly as
with operations as (
    select
        upper(trim(ticker)) as ticker, cast(month as date) as month,
        cast(operating_hashrate_ehs as double) as operating_hashrate_ehs,
        cast(installed_hashrate_ehs as double) as installed_hashrate_ehs,
        cast(btc_produced as double) as btc_produced, cast(btc_held as double) as btc_held,
        cast(btc_sold as double) as btc_sold,
        cast(fleet_efficiency_j_per_th as double) as fleet_efficiency_j_per_th,
        cast(power_cost_usd_per_mwh as double) as power_cost_usd_per_mwh
    from raw.miner_operations
),
sheets as (
    select upper(trim(ticker)) as ticker, cast(as_of as date) as balance_sheet_as_of,
           cast(cash_usd as double) as cash_usd, cast(total_debt_usd as double) as total_debt_usd
    from raw.miner_balance_sheet
),
joined as (
    select
        m.month, m.ticker, m.name, m.is_member,
        m.is_partial_month or coalesce(c.is_partial_month, true) as is_partial_month,
        o.ticker is not null as has_operations_report,
        o.operating_hashrate_ehs, o.installed_hashrate_ehs, c.hashrate_avg_ehs as network_hashrate_avg_ehs,
        o.btc_produced, cast(c.miner_revenue_btc as double) as network_miner_revenue_btc, c.days_in_month,
        o.btc_held, o.btc_sold, c.btc_price_close_month_end_usd, o.fleet_efficiency_j_per_th,
        o.power_cost_usd_per_mwh, c.hashprice_usd_per_ehs_day, m.market_cap_usd,
        b.balance_sheet_as_of, b.cash_usd, b.total_debt_usd,
        cast(m.month + interval 1 month - interval 1 day as date) as month_last_day
    from miner_monthly as m
    left join operations as o on o.ticker = m.ticker and o.month = m.month
    left join chain_monthly as c on c.month = m.month
    asof left join sheets as b
        on b.ticker = m.ticker and cast(m.month + interval 1 month - interval 1 day as date) >= b.balance_sheet_as_of
),
measured as (
    select
        *,
        operating_hashrate_ehs / nullif(network_hashrate_avg_ehs, 0) as hashrate_share,
        case when not is_partial_month then
            btc_produced / nullif(network_miner_revenue_btc / nullif(network_hashrate_avg_ehs, 0), 0) end
            as realized_hashrate_ehs,
        fleet_efficiency_j_per_th * power_cost_usd_per_mwh * 24 as hashcost_usd_per_ehs_day,
        market_cap_usd + total_debt_usd - cash_usd as enterprise_value_usd
    from joined
)
select
    m.month, m.ticker, m.name, m.is_member, m.is_partial_month, m.has_operations_report,
    m.operating_hashrate_ehs, m.installed_hashrate_ehs, m.network_hashrate_avg_ehs, m.hashrate_share,
    case when not m.is_partial_month then m.hashrate_share - p.hashrate_share end as hashrate_share_change,
    m.btc_produced, m.network_miner_revenue_btc,
    m.btc_produced / nullif(m.operating_hashrate_ehs, 0) / m.days_in_month as btc_per_ehs_day,
    m.realized_hashrate_ehs,
    m.realized_hashrate_ehs / nullif(m.operating_hashrate_ehs, 0) as hashrate_realization,
    m.btc_held, m.btc_sold, m.btc_held * m.btc_price_close_month_end_usd as btc_held_value_usd,
    m.fleet_efficiency_j_per_th, m.power_cost_usd_per_mwh, m.hashcost_usd_per_ehs_day,
    m.hashprice_usd_per_ehs_day, m.hashprice_usd_per_ehs_day - m.hashcost_usd_per_ehs_day as gross_profit_usd_per_ehs_day,
    m.hashprice_usd_per_ehs_day / nullif(24 * m.fleet_efficiency_j_per_th, 0) as breakeven_power_usd_per_mwh,
    m.market_cap_usd, m.balance_sheet_as_of, m.cash_usd, m.total_debt_usd, m.enterprise_value_usd,
    m.enterprise_value_usd / nullif(m.operating_hashrate_ehs, 0) as ev_per_ehs_usd
from measured as m
left join measured as p
    on p.ticker = m.ticker and p.month = cast(m.month - interval 1 month as date) and not p.is_partial_month;

create or replace temp table operations_monthly as
with reporting as (
    select
        *,
        is_member and has_operations_report as counts,
        lag(installed_hashrate_ehs) over (partition by ticker order by month) as previous_installed,
        lag(month) over (partition by ticker order by month) = cast(month - interval 1 month as date)
            and lag(is_member and has_operations_report and not is_partial_month) over (partition by ticker order by month)
            as previous_counts
    from miner_operations_monthly
),
totals as (
    select
        month,
        bool_or(is_partial_month) as is_partial_month,
        count(*) filter (where counts) as listed_operations_coverage,
        sum(operating_hashrate_ehs) filter (where counts) as listed_operating_hashrate_ehs,
        sum(installed_hashrate_ehs - previous_installed) filter (where counts and previous_counts and not is_partial_month)
            as listed_hashrate_added_ehs,
        sum(btc_produced) filter (where counts) as listed_btc_produced,
        sum(btc_held) filter (where counts) as listed_btc_held,
        sum(market_cap_usd) filter (where counts) as covered_market_cap_usd,
        sum(enterprise_value_usd) filter (where counts) as combined_ev_usd,
        sum(operating_hashrate_ehs) filter (where counts and enterprise_value_usd is not null) as ev_hashrate_ehs,
        max(network_hashrate_avg_ehs) as network_hashrate_avg_ehs
    from reporting
    group by month
),
multiples as (
    select
        t.*,
        t.listed_operating_hashrate_ehs / nullif(t.network_hashrate_avg_ehs, 0) as listed_hashrate_share,
        t.listed_operating_hashrate_ehs / nullif(t.network_hashrate_avg_ehs, 0) * c.next_4y_rewards_value_usd
            as proportional_4y_rewards_value_usd,
        t.covered_market_cap_usd
            / nullif(t.listed_operating_hashrate_ehs / nullif(t.network_hashrate_avg_ehs, 0) * c.next_4y_rewards_value_usd, 0)
            as mcap_to_proportional_4y_rewards
    from totals as t
    left join chain_monthly as c using (month)
),
running as (
    select
        *,
        max(mcap_to_proportional_4y_rewards) filter (where not is_partial_month) over to_date
            as mcap_to_proportional_4y_rewards_peak,
        avg(mcap_to_proportional_4y_rewards) filter (where not is_partial_month) over to_date
            as mcap_to_proportional_4y_rewards_avg
    from multiples
    window to_date as (order by month rows between unbounded preceding and current row)
)
select
    r.month, r.listed_operations_coverage, r.listed_operating_hashrate_ehs, r.listed_hashrate_share,
    case when not r.is_partial_month and not p.is_partial_month
        then r.listed_hashrate_share - p.listed_hashrate_share end as listed_hashrate_share_change,
    r.listed_hashrate_added_ehs, r.listed_btc_produced, r.listed_btc_held,
    r.proportional_4y_rewards_value_usd, r.mcap_to_proportional_4y_rewards, r.mcap_to_proportional_4y_rewards_peak,
    case when r.mcap_to_proportional_4y_rewards_peak is not null
        then min(r.month) over (partition by r.mcap_to_proportional_4y_rewards_peak) end
        as mcap_to_proportional_4y_rewards_peak_month,
    r.mcap_to_proportional_4y_rewards_avg, r.combined_ev_usd,
    r.combined_ev_usd / nullif(r.ev_hashrate_ehs, 0) as ev_per_ehs_usd
from running as r
left join running as p on p.month = cast(r.month - interval 1 month as date);

-- The five published marts. ------------------------------------------------------------------------
create or replace table marts.mart_chain_monthly as
select * from chain_monthly order by month;

create or replace table marts.mart_miner_monthly as
select * exclude (previous_month_market_cap_usd) from miner_monthly order by month, ticker;

create or replace table marts.mart_monthly_note as
select
    c.* replace (c.is_partial_month or coalesce(e.is_partial_month, false) as is_partial_month),
    coalesce(e.miner_count, 0) as miner_count,
    coalesce(e.members_with_market_cap, 0) as members_with_market_cap,
    e.* exclude (month, is_partial_month, miner_count, members_with_market_cap),
    o.* exclude (month),
    p.data_source,
    p.is_synthetic_data
from chain_monthly as c
left join equity_monthly as e using (month)
left join operations_monthly as o using (month)
cross join (
    select min(source_name) as data_source,
           max(case when cast(is_synthetic as boolean) then 1 else 0 end) = 1 as is_synthetic_data
    from raw.load_log
) as p
order by c.month;

create or replace table marts.mart_valuation_history as
select
    e.month, e.is_partial_month, e.miner_count, e.members_with_market_cap, e.members_without_market_cap,
    e.combined_market_cap_usd, c.remaining_btc_value_usd,
    e.mcap_to_remaining_btc_ratio, e.mcap_to_remaining_btc_peak, e.mcap_to_remaining_btc_peak_month,
    e.mcap_to_remaining_btc_avg,
    c.next_4y_rewards_value_usd,
    e.mcap_to_4y_rewards_ratio, e.mcap_to_4y_rewards_peak, e.mcap_to_4y_rewards_peak_month,
    e.mcap_to_4y_rewards_avg,
    o.* exclude (month),
    c.btc_price_volatility_annualized
from equity_monthly as e
left join chain_monthly as c using (month)
left join operations_monthly as o using (month)
order by e.month;

create or replace table marts.mart_miner_operations_monthly as
select * from miner_operations_monthly order by month, ticker;
