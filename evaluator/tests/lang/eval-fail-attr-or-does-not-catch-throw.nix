{ a = throw "in attr"; }.a or 1
