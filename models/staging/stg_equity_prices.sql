with

source as (

    select * from {{ source('raw', 'equity_prices') }}

),

renamed as (

    select
        cast(date as date) as trading_day,
        upper(trim(ticker)) as ticker,
        cast(close as double) as close_usd

    from source

)

select * from renamed
