with

source as (

    select * from {{ source('raw', 'splits') }}

),

renamed as (

    select
        upper(trim(ticker)) as ticker,
        cast(ex_date as date) as ex_date,
        cast(ratio as double) as split_ratio

    from source

)

select * from renamed
