with

source as (

    select * from {{ source('raw', 'miner_balance_sheet') }}

),

renamed as (

    select
        upper(trim(ticker)) as ticker,
        cast(as_of as date) as balance_sheet_as_of,
        cast(cash_usd as double) as cash_usd,
        cast(total_debt_usd as double) as total_debt_usd

    from source

)

select * from renamed
