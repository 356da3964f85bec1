-- One row per universe miner and month in which it has any close (as fct_miner_monthly), with what
-- the miner reported operating that month (null without a report) measured against the network:
-- its share of the hashrate, production per EH/s, the hashrate its production implies, the value of
-- its holdings, its cost and margin per EH/s, and its enterprise value per EH/s.
with

miners as (

    select * from {{ ref('fct_miner_monthly') }}

),

operations as (

    select * from {{ ref('stg_miner_operations') }}

),

balance_sheets as (

    select * from {{ ref('stg_miner_balance_sheet') }}

),

chain as (

    select * from {{ ref('fct_chain_monthly') }}

),

-- Each balance sheet as the interval of days it is the latest one filed for [valid_from, valid_to).
balance_sheet_intervals as (

    select
        ticker,
        balance_sheet_as_of,
        cash_usd,
        total_debt_usd,
        balance_sheet_as_of as valid_from,
        lead(balance_sheet_as_of) over (partition by ticker order by balance_sheet_as_of) as valid_to

    from balance_sheets

),

joined as (

    select
        miners.month,
        miners.ticker,
        miners.company_name,
        miners.is_member,
        -- as mart_monthly_note: partial when either the closes or the chain days stop before month end
        miners.is_partial_month or coalesce(chain.is_partial_month, true) as is_partial_month,
        operations.ticker is not null as has_operations_report,
        operations.operating_hashrate_ehs,
        operations.installed_hashrate_ehs,
        chain.hashrate_avg_ehs as network_hashrate_avg_ehs,
        operations.btc_produced,
        cast(chain.miner_revenue_btc as double) as network_miner_revenue_btc,
        chain.days_in_month,
        operations.btc_held,
        operations.btc_sold,
        chain.btc_price_close_month_end_usd,
        operations.fleet_efficiency_j_per_th,
        operations.power_cost_usd_per_mwh,
        chain.hashprice_usd_per_ehs_day,
        miners.market_cap_usd,
        balance_sheet_intervals.balance_sheet_as_of,
        balance_sheet_intervals.cash_usd,
        balance_sheet_intervals.total_debt_usd

    from miners
    left join operations
        on
            operations.ticker = miners.ticker
            and operations.month = miners.month
    left join chain on chain.month = miners.month
    -- the latest balance sheet dated on or before the month's last day
    left join balance_sheet_intervals
        on
            balance_sheet_intervals.ticker = miners.ticker
            and balance_sheet_intervals.valid_from < cast({{ dbt.dateadd('month', 1, 'miners.month') }} as date)
            and {{ before_interval_end(
                "cast(" ~ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'miners.month')) ~ " as date)",
                'balance_sheet_intervals.valid_to',
            ) }}

),

measured as (

    select
        joined.*,
        joined.operating_hashrate_ehs / nullif(joined.network_hashrate_avg_ehs, 0) as hashrate_share,
        joined.btc_produced / nullif(joined.operating_hashrate_ehs, 0) / joined.days_in_month as btc_per_ehs_day,
        -- the network's BTC per EH/s over the month is its revenue / its average hashrate; a partial
        -- month's revenue is not the month's, so nothing is implied from it
        case
            when not joined.is_partial_month then
                joined.btc_produced
                / nullif(joined.network_miner_revenue_btc / nullif(joined.network_hashrate_avg_ehs, 0), 0)
        end as realized_hashrate_ehs,
        joined.btc_held * joined.btc_price_close_month_end_usd as btc_held_value_usd,
        -- 1 J/TH is 1 MW per EH/s: a day at that draw is 24 MWh
        joined.fleet_efficiency_j_per_th * joined.power_cost_usd_per_mwh * 24 as hashcost_usd_per_ehs_day,
        joined.hashprice_usd_per_ehs_day
        / nullif(24 * joined.fleet_efficiency_j_per_th, 0) as breakeven_power_usd_per_mwh,
        joined.market_cap_usd + joined.total_debt_usd - joined.cash_usd as enterprise_value_usd

    from joined

),

final as (

    select
        measured.month,
        measured.ticker,
        measured.company_name,
        measured.is_member,
        measured.is_partial_month,
        measured.has_operations_report,
        measured.operating_hashrate_ehs,
        measured.installed_hashrate_ehs,
        measured.network_hashrate_avg_ehs,
        measured.hashrate_share,
        -- share points against the previous month's report; not across a partial month
        case
            when not measured.is_partial_month then
                measured.hashrate_share - previous_month.hashrate_share
        end as hashrate_share_change,
        measured.btc_produced,
        measured.network_miner_revenue_btc,
        measured.btc_per_ehs_day,
        measured.realized_hashrate_ehs,
        measured.realized_hashrate_ehs / nullif(measured.operating_hashrate_ehs, 0) as hashrate_realization,
        measured.btc_held,
        measured.btc_sold,
        measured.btc_price_close_month_end_usd,
        measured.btc_held_value_usd,
        measured.fleet_efficiency_j_per_th,
        measured.power_cost_usd_per_mwh,
        measured.hashcost_usd_per_ehs_day,
        measured.hashprice_usd_per_ehs_day,
        measured.hashprice_usd_per_ehs_day - measured.hashcost_usd_per_ehs_day as gross_profit_usd_per_ehs_day,
        measured.breakeven_power_usd_per_mwh,
        measured.market_cap_usd,
        measured.balance_sheet_as_of,
        measured.cash_usd,
        measured.total_debt_usd,
        measured.enterprise_value_usd,
        measured.enterprise_value_usd / nullif(measured.operating_hashrate_ehs, 0) as ev_per_ehs_usd

    from measured
    left join measured as previous_month
        on
            previous_month.ticker = measured.ticker
            and previous_month.month = cast({{ dbt.dateadd('month', -1, 'measured.month') }} as date)
            and not previous_month.is_partial_month

)

select * from final
