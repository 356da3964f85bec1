-- One row per month: the miners' combined market cap against the value of the bitcoin still to be
-- mined, each gauge next to its own history (running peak, month set, running mean).
with

equity as (

    select * from {{ ref('fct_equity_monthly') }}

),

chain as (

    select * from {{ ref('fct_chain_monthly') }}

),

history as (

    select
        equity.month,
        equity.is_partial_month,
        equity.miner_count,
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
        equity.mcap_to_4y_rewards_avg

    from equity
    left join chain on chain.month = equity.month

)

select * from history
