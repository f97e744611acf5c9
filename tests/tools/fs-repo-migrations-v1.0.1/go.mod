module kotalc.test/fs-repo-migrations

go 1.24

require github.com/ipfs/fs-repo-migrations/fs-repo-15-to-16 v1.0.1

require github.com/ipfs/fs-repo-migrations/tools v0.0.0-20211209222258-754a2dcb82ea // indirect
