-- One row per UTC day of bitcoin network and market data: issuance, miner revenue, hashrate and
-- hashprice. BTC amounts are exact DECIMAL(20, 8); USD and EH/s figures are DOUBLE.
with

days as (

    select * from {{ ref('int_chain_days') }}

),

amounts as (

    select
        day,
        month,
        first_block_height,
        last_block_height,
        blocks_mined,
        price_usd,
        difficulty,
        reported_hashrate_ehs,
        implied_hashrate_ehs,
        hashrate_ehs,
        hashrate_method,
        {{ bitcoin_sat_to_btc('subsidy_sat') }} as subsidy_btc,
        cast(fees_btc as decimal(20, 8)) as fees_btc,
        {{ bitcoin_sat_to_btc('supply_sat') }} as supply_btc,
        reported_supply_btc

    from days

),

revenue as (

    select
        *,
        cast(subsidy_btc + fees_btc as decimal(20, 8)) as miner_revenue_btc,
        cast(subsidy_btc + fees_btc as double) * price_usd as miner_revenue_usd

    from amounts

),

final as (

    select
        day,
        month,
        first_block_height,
        last_block_height,
        blocks_mined,
        avg(blocks_mined) over trailing_30_days as blocks_per_day_30d_avg,
        price_usd,
        avg(price_usd) over trailing_7_days as price_7d_avg_usd,
        difficulty,
        reported_hashrate_ehs,
        implied_hashrate_ehs,
        hashrate_ehs,
        hashrate_method,
        avg(hashrate_ehs) over trailing_7_days as hashrate_7d_avg_ehs,
        subsidy_btc,
        fees_btc,
        miner_revenue_btc,
        miner_revenue_usd,
        miner_revenue_usd / nullif(hashrate_ehs, 0) as hashprice_usd_per_ehs_day,
        supply_btc,
        reported_supply_btc

    from revenue
    window
        trailing_7_days as (order by day range between interval 6 days preceding and current row),
        trailing_30_days as (order by day range between interval 29 days preceding and current row)

)

select * from final
