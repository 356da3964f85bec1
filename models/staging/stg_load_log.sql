with

source as (

    select * from {{ source('raw', 'load_log') }}

),

renamed as (

    select
        dataset,
        source_name,
        cast(is_synthetic as boolean) as is_synthetic,
        cast(loaded_at as timestamp) as loaded_at,
        cast(row_count as bigint) as row_count,
        origin

    from source

)

select * from renamed
