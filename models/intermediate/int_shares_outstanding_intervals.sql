-- Each shares report as the interval [reported_as_of, next report) it is the latest figure for,
-- with the cumulative split factor in force on the report date.
with

reports as (

    select * from {{ ref('stg_shares_outstanding') }}

),

factors as (

    select * from {{ ref('int_split_factors') }}

),

intervals as (

    select
        ticker,
        reported_as_of,
        lead(reported_as_of) over (partition by ticker order by reported_as_of) as next_reported_as_of,
        reported_shares

    from reports

),

with_factor as (

    select
        intervals.*,
        coalesce(factors.cumulative_factor, 1.0) as factor_at_report

    from intervals
    left join factors
        on factors.ticker = intervals.ticker
        and intervals.reported_as_of >= factors.valid_from
        and (factors.valid_to is null or intervals.reported_as_of < factors.valid_to)

)

select * from with_factor
