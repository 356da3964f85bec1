-- One row per halving era the chain data touches: its heights and block subsidy, the days it began
-- and ended, and for the era in progress the blocks to the next halving and its estimated date at
-- the trailing 30-day block rate.
with

days as (

    select * from {{ ref('fct_chain_daily') }}

),

mined_days as (

    select * from days
    where blocks_mined > 0

),

tip as (

    select
        days.day as as_of_date,
        days.last_block_height as tip_height,
        days.blocks_per_day_30d_avg

    from days
    where days.day = (select max(all_days.day) from days as all_days)

),

eras as (

    select {{ bitcoin_halving_era('first_block_height') }} as halving_era from mined_days
    union
    select {{ bitcoin_halving_era('last_block_height') }} as halving_era from mined_days

),

bounds as (

    select
        halving_era,
        halving_era * {{ bitcoin_halving_interval() }} as start_height,
        (halving_era + 1) * {{ bitcoin_halving_interval() }} - 1 as end_height,
        (halving_era + 1) * {{ bitcoin_halving_interval() }} as next_halving_height

    from eras

),

progress as (

    select
        bounds.halving_era,
        bounds.start_height,
        bounds.end_height,
        {{ bitcoin_sat_to_btc(bitcoin_subsidy_sat('bounds.start_height')) }} as subsidy_btc,
        start_day.day as start_date,
        bounds.next_halving_height,
        next_halving_day.day as next_halving_date,
        tip.as_of_date,
        case
            when tip.tip_height < bounds.next_halving_height
                then bounds.next_halving_height - tip.tip_height
        end as blocks_to_next_halving,
        case
            when tip.tip_height < bounds.next_halving_height
                then tip.blocks_per_day_30d_avg
        end as blocks_per_day_30d_avg

    from bounds
    cross join tip
    left join mined_days as start_day
        on bounds.start_height between start_day.first_block_height and start_day.last_block_height
    left join mined_days as next_halving_day
        on bounds.next_halving_height between next_halving_day.first_block_height and next_halving_day.last_block_height

),

final as (

    select
        *,
        cast({{ dbt.dateadd(
            'day',
            'cast(ceil(blocks_to_next_halving / blocks_per_day_30d_avg) as integer)',
            'as_of_date'
        ) }} as date) as estimated_next_halving_date

    from progress

)

select * from final
