-- reserved: replace with this migration's statements
select 1;
