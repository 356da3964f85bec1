-- One row per month: the miners' combined market cap against the value of the bitcoin still to be
-- mined, each gauge next to its own history (running peak, month set, running mean).
with

equity as (

    select * from {{ ref('fct_equity_monthly') }}

),

chain as (

    select * from {{ ref('fct_chain_monthly') }}

),

operations as (

    select * from {{ ref('fct_operations_monthly') }}

),

history as (

    select
        equity.month,
        equity.is_partial_month,
        equity.miner_count,
        equity.members_with_market_cap,
        equity.members_without_market_cap,
        equity.combined_market_cap_usd,
        chain.remaining_btc_value_usd,
        equity.mcap_to_remaining_btc_ratio,
        equity.mcap_to_remaining_btc_peak,
        equity.mcap_to_remaining_btc_peak_month,
        equity.mcap_to_remaining_btc_avg,
        chain.next_4y_rewards_value_usd,
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
        chain.btc_price_volatility_annualized

    from equity
    left join chain on chain.month = equity.month
    left join operations on operations.month = equity.month

)

select * from history
