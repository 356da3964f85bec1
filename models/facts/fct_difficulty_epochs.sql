-- One row per 2016-block difficulty epoch the chain data touches: its heights, the day its first
-- block was mined, its difficulty and the change from the previous epoch.
with

days as (

    select * from {{ ref('fct_chain_daily') }}
    where blocks_mined > 0

),

day_epochs as (

    select
        day,
        first_block_height,
        last_block_height,
        blocks_mined,
        difficulty,
        {{ bitcoin_difficulty_epoch('first_block_height') }} as first_epoch,
        {{ bitcoin_difficulty_epoch('last_block_height') }} as last_epoch

    from days

),

epochs as (

    select first_epoch as epoch from day_epochs
    union
    select last_epoch as epoch from day_epochs

),

-- A day whose blocks all belong to one epoch reports that epoch's difficulty.
whole_day_difficulty as (

    select
        first_epoch as epoch,
        sum(blocks_mined * difficulty) / sum(blocks_mined) as difficulty

    from day_epochs
    where first_epoch = last_epoch
    group by first_epoch

),

bounds as (

    select
        epoch,
        epoch * {{ bitcoin_difficulty_epoch_blocks() }} as start_height,
        (epoch + 1) * {{ bitcoin_difficulty_epoch_blocks() }} - 1 as end_height

    from epochs

),

started as (

    select
        bounds.*,
        start_day.day as start_date,
        start_day.first_block_height as start_day_first_height,
        start_day.last_block_height as start_day_last_height,
        start_day.blocks_mined as start_day_blocks,
        start_day.difficulty as start_day_difficulty,
        whole_day_difficulty.difficulty as whole_day_difficulty

    from bounds
    left join day_epochs as start_day
        on bounds.start_height between start_day.first_block_height and start_day.last_block_height
    left join whole_day_difficulty on whole_day_difficulty.epoch = bounds.epoch

),

with_difficulty as (

    select
        started.epoch,
        started.start_height,
        started.end_height,
        started.start_date,
        coalesce(
            started.whole_day_difficulty,
            -- No whole day in the epoch yet (it began on the data's last day): take the previous
            -- epoch's blocks out of the start day's block-weighted mean.
            (
                started.start_day_difficulty * started.start_day_blocks
                - (started.start_height - started.start_day_first_height) * previous.whole_day_difficulty
            ) / (started.start_day_last_height - started.start_height + 1)
        ) as difficulty

    from started
    left join started as previous on previous.epoch = started.epoch - 1

),

final as (

    select
        with_difficulty.*,
        with_difficulty.difficulty / previous.difficulty - 1 as difficulty_change

    from with_difficulty
    left join with_difficulty as previous on previous.epoch = with_difficulty.epoch - 1

)

select * from final
