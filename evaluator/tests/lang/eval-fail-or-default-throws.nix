{ }.a or throw "default thrown"
