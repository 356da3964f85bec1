with

source as (

    select * from {{ source('raw', 'btc_daily') }}

),

renamed as (

    select
        cast(date as date) as day,
        cast(price_usd as double) as price_usd,
        cast(hashrate_ehs as double) as reported_hashrate_ehs,
        cast(difficulty as double) as difficulty,
        cast(block_height as bigint) as last_block_height,
        cast(blocks_mined as bigint) as blocks_mined,
        cast(fees_btc as double) as fees_btc,
        cast(supply_btc as double) as supply_btc

    from source

)

select * from renamed
