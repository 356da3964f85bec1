-- One row per universe miner and month in which it has any close, as the note reports it.
with

miners as (

    select * from {{ ref('fct_miner_monthly') }}

),

published as (

    select
        month,
        ticker,
        company_name as name,
        close_month_end_usd,
        monthly_return,
        shares_outstanding,
        market_cap_usd,
        return_rank,
        is_member,
        is_partial_month,
        listed_in_month,
        delisted_in_month,
        split_in_month

    from miners

)

select * from published
