-- One row per universe miner and month in which it has any close: what it operates, as the note's
-- Operations section reports it.
with

operations as (

    select * from {{ ref('fct_miner_operations_monthly') }}

),

published as (

    select
        month,
        ticker,
        company_name as name,
        is_member,
        is_partial_month,
        has_operations_report,
        operating_hashrate_ehs,
        installed_hashrate_ehs,
        network_hashrate_avg_ehs,
        hashrate_share,
        hashrate_share_change,
        btc_produced,
        network_miner_revenue_btc,
        btc_per_ehs_day,
        realized_hashrate_ehs,
        hashrate_realization,
        btc_held,
        btc_sold,
        btc_held_value_usd,
        fleet_efficiency_j_per_th,
        power_cost_usd_per_mwh,
        hashcost_usd_per_ehs_day,
        hashprice_usd_per_ehs_day,
        gross_profit_usd_per_ehs_day,
        breakeven_power_usd_per_mwh,
        market_cap_usd,
        balance_sheet_as_of,
        cash_usd,
        total_debt_usd,
        enterprise_value_usd,
        ev_per_ehs_usd

    from operations

)

select * from published
