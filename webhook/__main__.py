from webhook.commands import program

program()
