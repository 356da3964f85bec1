-- One row per month: the numbers of the monthly bitcoin-miner equities note.
with

chain as (

    select * from {{ ref('fct_chain_monthly') }}

),

miners as (

    select * from {{ ref('fct_miner_monthly') }}

),

provenance as (

    select
        min(source_name) as data_source,
        max(case when is_synthetic then 1 else 0 end) = 1 as is_synthetic_data

    from {{ ref('stg_load_log') }}

),

equity as (

    select
        month,
        count(*) filter (where is_member) as miner_count,
        sum(market_cap_usd) as combined_market_cap_usd

    from miners
    group by month

),

note as (

    select
        chain.month,
        chain.btc_price_avg_usd,
        chain.btc_price_month_end_usd,
        coalesce(equity.miner_count, 0) as miner_count,
        equity.combined_market_cap_usd,
        provenance.data_source,
        provenance.is_synthetic_data

    from chain
    left join equity on equity.month = chain.month
    cross join provenance

)

select * from note
