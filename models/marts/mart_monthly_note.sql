-- One row per month: the numbers of the monthly bitcoin-miner equities note.
with

chain as (

    select * from {{ ref('fct_chain_monthly') }}

),

equity as (

    select * from {{ ref('fct_equity_monthly') }}

),

operations as (

    select * from {{ ref('fct_operations_monthly') }}

),

provenance as (

    select
        min(source_name) as data_source,
        max(case when is_synthetic then 1 else 0 end) = 1 as is_synthetic_data

    from {{ ref('stg_load_log') }}

),

note as (

    select
        chain.month,
        chain.days_in_month,
        chain.days_with_data,
        chain.is_partial_month or coalesce(equity.is_partial_month, false) as is_partial_month,
        chain.month_end_day,
        chain.month_end_block_height,
        chain.btc_price_avg_usd,
        chain.btc_price_close_month_end_usd,
        chain.btc_price_month_end_usd,
        chain.hashrate_avg_ehs,
        chain.hashrate_month_end_7d_avg_ehs,
        chain.implied_hashrate_days,
        chain.difficulty_avg,
        chain.difficulty_month_end,
        chain.blocks_mined,
        chain.subsidy_btc,
        chain.fees_btc,
        chain.miner_revenue_btc,
        chain.fee_share_of_revenue,
        chain.hashprice_usd_per_ehs_day,
        chain.supply_month_end_btc,
        chain.reported_supply_month_end_btc,
        chain.remaining_btc,
        chain.remaining_btc_value_usd,
        chain.next_4y_subsidy_btc,
        chain.next_4y_rewards_value_usd,
        chain.btc_price_avg_mom,
        chain.btc_price_month_end_mom,
        chain.hashrate_avg_mom,
        chain.hashrate_month_end_mom,
        chain.difficulty_avg_mom,
        chain.difficulty_month_end_mom,
        chain.hashprice_mom,
        chain.btc_price_volatility_annualized,
        coalesce(equity.miner_count, 0) as miner_count,
        coalesce(equity.members_with_market_cap, 0) as members_with_market_cap,
        equity.members_without_market_cap,
        equity.combined_market_cap_usd,
        equity.combined_market_cap_mom,
        equity.combined_market_cap_like_for_like_mom,
        equity.leader_ticker,
        equity.leader_return,
        equity.laggard_ticker,
        equity.laggard_return,
        equity.mcap_to_remaining_btc_ratio,
        equity.mcap_to_remaining_btc_peak,
        equity.mcap_to_remaining_btc_peak_month,
        equity.mcap_to_remaining_btc_avg,
        equity.mcap_to_4y_rewards_ratio,
        equity.mcap_to_4y_rewards_peak,
        equity.mcap_to_4y_rewards_peak_month,
        equity.mcap_to_4y_rewards_avg,
        operations.listed_operations_coverage,
        operations.listed_operating_hashrate_ehs,
        operations.listed_hashrate_share,
        operations.listed_hashrate_share_change,
        operations.listed_hashrate_added_ehs,
        operations.listed_btc_produced,
        operations.listed_btc_held,
        operations.proportional_4y_rewards_value_usd,
        operations.mcap_to_proportional_4y_rewards,
        operations.mcap_to_proportional_4y_rewards_peak,
        operations.mcap_to_proportional_4y_rewards_peak_month,
        operations.mcap_to_proportional_4y_rewards_avg,
        operations.combined_ev_usd,
        operations.ev_per_ehs_usd,
        provenance.data_source,
        provenance.is_synthetic_data

    from chain
    left join equity on equity.month = chain.month
    left join operations on operations.month = chain.month
    cross join provenance

)

select * from note
