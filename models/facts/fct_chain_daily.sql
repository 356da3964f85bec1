-- One row per UTC day of bitcoin network and market data.
with

days as (

    select * from {{ ref('stg_btc_daily') }}

),

enriched as (

    select
        day,
        cast({{ dbt.date_trunc('month', 'day') }} as date) as month,
        price_usd,
        avg(price_usd) over (
            order by day rows between 6 preceding and current row
        ) as price_7d_avg_usd,
        reported_hashrate_ehs,
        difficulty,
        last_block_height,
        blocks_mined,
        fees_btc,
        supply_btc

    from days

)

select * from enriched
