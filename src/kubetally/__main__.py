from kubetally.cli import main

main()
