-- Cumulative split factor per ticker as validity intervals [valid_from, valid_to):
-- the product of the ratios of every split with ex_date <= day (1 before the first split).
with

splits as (

    select * from {{ ref('stg_splits') }}

),

after_each_split as (

    select
        ticker,
        ex_date as valid_from,
        lead(ex_date) over (partition by ticker order by ex_date) as valid_to,
        {{ equity_running_product(
            'split_ratio',
            'partition by ticker order by ex_date rows between unbounded preceding and current row'
        ) }} as cumulative_factor

    from splits

),

before_first_split as (

    select
        ticker,
        cast('1900-01-01' as date) as valid_from,
        min(ex_date) as valid_to,
        cast(1.0 as double) as cumulative_factor

    from splits
    group by ticker

)

select * from before_first_split
union all
select * from after_each_split
